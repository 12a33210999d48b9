//! What a training step is: where the state "after step k" of a log is, for
//! videos (one frame per step) and `--at-step`.
//!
//! * **Markers.** A logger that calls `end_step()` writes a Step record at
//!   the end of every step; each marker ends a step. The seed example (and
//!   `streamvis-test-app`) marks every loop iteration this way.
//! * **Plot repeats.** In a log without markers (an app that never calls
//!   `end_step()`), a step ends just before a data record for a plot that
//!   has already been updated in the current step: one pass of a training
//!   loop updates each of its plots once.
//! * **One plot.** With `--step-plot NAME`, a step ends after every update
//!   of that plot.
//!
//! Without a choice the rule is Markers if the log has any, else Plot
//! repeats.

use std::collections::HashSet;

use super::{FileTail, Follow, Reader, SourceError, Update};
use crate::format::{Record, RecordBody};
use crate::store::Store;

/// How steps are delimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepRule {
    Markers,
    PlotRepeats,
    Plot(String),
}

/// Where a record stands with respect to step boundaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Boundary {
    /// A step ended just before this record (take a frame before applying it).
    pub before: bool,
    /// A step ends with this record (take a frame after applying it).
    pub after: bool,
}

/// Finds step boundaries in a stream of records.
#[derive(Clone, Debug)]
pub struct StepDetector {
    rule: StepRule,
    /// Follow live logs: switch to Markers at the first marker seen.
    adaptive: bool,
    /// Plots updated since the last boundary.
    updated: HashSet<String>,
    /// Data records since the last boundary.
    pending: bool,
}

impl StepDetector {
    pub fn new(rule: StepRule) -> Self {
        Self {
            rule,
            adaptive: false,
            updated: HashSet::new(),
            pending: false,
        }
    }

    /// For a log whose rule cannot be known in advance (it is still being
    /// written): plot repeats until the first step marker, markers after.
    pub fn adaptive() -> Self {
        Self {
            adaptive: true,
            ..Self::new(StepRule::PlotRepeats)
        }
    }

    pub fn rule(&self) -> &StepRule {
        &self.rule
    }

    /// Classifies the next record.
    pub fn observe(&mut self, record: &Record) -> Boundary {
        let mut boundary = Boundary::default();
        if self.adaptive && self.rule == StepRule::PlotRepeats && matches!(record.body, RecordBody::Step(_)) {
            self.rule = StepRule::Markers;
        }
        match (&self.rule, &record.body) {
            (StepRule::Markers, RecordBody::Step(_)) => {
                boundary.after = true;
            }
            (StepRule::PlotRepeats, body) => {
                if let Some(plot) = body.plot_name() {
                    if self.updated.contains(plot) {
                        boundary.before = true;
                        self.updated.clear();
                    }
                    self.updated.insert(plot.to_owned());
                    self.pending = true;
                    return boundary;
                }
            }
            (StepRule::Plot(name), body) => {
                boundary.after = body.plot_name() == Some(name.as_str());
            }
            _ => {}
        }
        if boundary.after {
            self.updated.clear();
            self.pending = false;
        } else if record.body.plot_name().is_some() {
            self.pending = true;
        }
        boundary
    }

    /// At the end of the log: whether data arrived after the last boundary
    /// (the last, unfinished step deserves a frame too).
    pub fn finish(&mut self) -> bool {
        let pending = self.pending && self.rule == StepRule::PlotRepeats;
        self.pending = false;
        self.updated.clear();
        pending
    }
}

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

/// Applies updates from `reader` to `store` until step `step` has ended
/// (steps counted by `rule` from 0): the state a video's frame `step`
/// shows, and `--screenshot` of the log cut right after that step. Returns
/// whether the step was reached (else the store holds everything read).
pub fn read_to_step(reader: &mut Reader, store: &mut Store, rule: StepRule, step: u64) -> Result<bool, SourceError> {
    let mut detector = StepDetector::new(rule.clone());
    let mut current = 0;
    while let Some(update) = reader.next_update()? {
        match &update {
            Update::Record { record, .. } => {
                let boundary = detector.observe(record);
                if boundary.before {
                    if current == step {
                        return Ok(true);
                    }
                    current += 1;
                }
                reader.apply(store, &update);
                if boundary.after {
                    if current == step {
                        return Ok(true);
                    }
                    current += 1;
                }
            }
            Update::Restarted => {
                reader.apply(store, &update);
                detector = StepDetector::new(rule.clone());
                current = 0;
            }
        }
    }
    // The unfinished last step (plot repeats) ends with the log.
    Ok(detector.finish() && current == step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{TandemCall, Tensor};

    fn tandem(plot: &str) -> Record {
        Record::for_test(RecordBody::TandemLines(TandemCall {
            plot: plot.into(),
            palette: None,
            x: 0.0,
            ys: Tensor::from_values(vec![1], &[0.0]),
        }))
    }

    fn boundaries(detector: &mut StepDetector, records: &[Record]) -> Vec<(bool, bool)> {
        records
            .iter()
            .map(|r| detector.observe(r))
            .map(|b| (b.before, b.after))
            .collect()
    }

    #[test]
    fn markers_end_steps() {
        let records = [
            tandem("a"),
            tandem("b"),
            Record::for_test(RecordBody::Step(0)),
            tandem("a"),
            Record::for_test(RecordBody::Step(1)),
        ];
        let mut d = StepDetector::new(StepRule::Markers);
        assert_eq!(
            boundaries(&mut d, &records),
            [
                (false, false),
                (false, false),
                (false, true),
                (false, false),
                (false, true)
            ]
        );
        assert!(!d.finish());
    }

    #[test]
    fn a_repeated_plot_starts_a_step() {
        let records = [
            Record::for_test(RecordBody::Clear),
            tandem("a"),
            tandem("b"),
            tandem("a"),
            tandem("b"),
            tandem("a"),
        ];
        let mut d = StepDetector::new(StepRule::PlotRepeats);
        let got = boundaries(&mut d, &records);
        assert_eq!(got.iter().filter(|b| b.0).count(), 2);
        assert!(got[3].0 && got[5].0 && !got[4].0);
        assert!(d.finish(), "the last step has data");
    }

    #[test]
    fn one_plot_paces_the_steps() {
        let records = [tandem("a"), tandem("b"), tandem("b"), tandem("a")];
        let mut d = StepDetector::new(StepRule::Plot("b".into()));
        assert_eq!(
            boundaries(&mut d, &records),
            [(false, false), (false, true), (false, true), (false, false)]
        );
    }

    #[test]
    fn adaptive_switches_to_markers() {
        let records = [
            tandem("a"),
            tandem("a"),
            Record::for_test(RecordBody::Step(0)),
            tandem("a"),
            tandem("a"),
        ];
        let mut d = StepDetector::adaptive();
        let got = boundaries(&mut d, &records);
        assert_eq!(
            got,
            [
                (false, false),
                (true, false),
                (false, true),
                (false, false),
                (false, false)
            ]
        );
        assert_eq!(d.rule(), &StepRule::Markers);
    }
}
