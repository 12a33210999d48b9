//! Counting a log's steps before reading it for a video (the step rule is
//! [`crate::store::StepRule`]).

use super::{FileTail, Follow, Reader, SourceError, Update};
use crate::format::RecordBody;
use crate::store::{StepDetector, StepRule};

/// Reads the log at `path` as it is now, counts its steps and picks the
/// rule: `rule` if given, else markers if the log has any, else plot
/// repeats.
pub fn scan_steps(path: &std::path::Path, rule: Option<StepRule>) -> Result<(StepRule, u64), SourceError> {
    let tail = FileTail::open(path, false)?;
    let mut reader = Reader::new(Box::new(tail), Follow::No);
    let mut records = Vec::new();
    // Bodies are decoded without copying tensors, so holding them is cheap.
    while let Some(update) = reader.next_update()? {
        match update {
            Update::Record { record, .. } => records.push(record),
            Update::Restarted => records.clear(),
        }
    }
    let markers = records.iter().any(|record| matches!(record.body, RecordBody::Step(_)));
    let rule = rule.unwrap_or(if markers {
        StepRule::Markers
    } else {
        StepRule::PlotRepeats
    });
    let mut detector = StepDetector::new(rule.clone());
    let mut steps = 0;
    for record in &records {
        let b = detector.observe(record);
        steps += b.before as u64 + b.after as u64;
    }
    steps += detector.finish() as u64;
    Ok((rule, steps))
}
