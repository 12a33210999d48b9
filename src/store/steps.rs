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
//! repeats. The store follows a log whose rule cannot be known in advance:
//! it counts plot repeats until the first marker, then forgets those steps
//! and counts markers, which gives the same steps as knowing the rule.
//!
//! [`Timeline`] is the step index the store keeps while it applies records:
//! per step, where it ends (how many records the state after it holds), the
//! logger's step number and wall time. 24 bytes a step, nothing per point.

use std::collections::HashSet;

use crate::format::{Record, RecordBody};

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

    /// Whether data arrived after the last boundary that makes an unfinished
    /// step of its own (plot repeats only: with markers or one plot, data
    /// after the last boundary waits for the step that will end it).
    pub fn pending(&self) -> bool {
        self.pending && self.rule == StepRule::PlotRepeats
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

/// One step of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepMark {
    /// Records applied in the state after this step: the log cut right
    /// after the step holds exactly these.
    pub end: u64,
    /// The logger's step number (its marker's, raised to one more than the
    /// step before when a restarted logger counts again), or the step's
    /// index.
    pub number: u64,
    /// Nanoseconds since the Unix epoch of the step's last record.
    pub wall_time_ns: i64,
}

/// The steps of a log, found while its records are applied.
#[derive(Clone, Debug)]
pub struct Timeline {
    /// The rule asked for, if any.
    given: Option<StepRule>,
    detector: StepDetector,
    marks: Vec<StepMark>,
    /// Wall time of the last record, for a step that ends before the next.
    last_wall_time_ns: i64,
    first_wall_time_ns: Option<i64>,
}

impl Timeline {
    /// Steps by `rule`; without one, markers if the log has any, else plot
    /// repeats (decided at the first marker).
    pub fn new(rule: Option<StepRule>) -> Self {
        Self {
            given: rule.clone(),
            detector: rule.map_or_else(StepDetector::adaptive, StepDetector::new),
            marks: Vec::new(),
            last_wall_time_ns: 0,
            first_wall_time_ns: None,
        }
    }

    /// Notes record number `index` (0-based, in application order), before it
    /// is applied.
    pub fn observe(&mut self, index: u64, record: &Record) {
        let was = self.detector.rule().clone();
        let boundary = self.detector.observe(record);
        if was != *self.detector.rule() {
            // The first marker: the steps guessed by plot repeats were not
            // steps; the marker ends step 0.
            self.marks.clear();
        }
        if boundary.before {
            let number = self.marks.len() as u64;
            self.marks.push(StepMark {
                end: index,
                number,
                wall_time_ns: self.last_wall_time_ns,
            });
        }
        let wall_time_ns = record.meta.wall_time_ns;
        self.first_wall_time_ns.get_or_insert(wall_time_ns);
        self.last_wall_time_ns = wall_time_ns;
        if boundary.after {
            // Numbers only grow: a logger restarted on the same log counts
            // from 0 again, and its steps follow the earlier ones.
            let after_last = self.marks.last().map_or(0, |m| m.number + 1);
            let number = match record.body {
                RecordBody::Step(n) => n.max(after_last),
                _ => self.marks.len() as u64,
            };
            self.marks.push(StepMark {
                end: index + 1,
                number,
                wall_time_ns,
            });
        }
    }

    /// The rule in use (for a log followed without one: plot repeats until
    /// the first marker).
    pub fn rule(&self) -> &StepRule {
        self.detector.rule()
    }

    /// The rule asked for, if any.
    pub fn fixed_rule(&self) -> Option<StepRule> {
        self.given.clone()
    }

    /// Steps so far, counting an unfinished last step under plot repeats.
    pub fn len(&self) -> u64 {
        self.marks.len() as u64 + u64::from(self.detector.pending())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steps that have ended (without an unfinished last one).
    pub fn ended(&self) -> u64 {
        self.marks.len() as u64
    }

    /// Step `k`; `live` is the number of records applied, where an
    /// unfinished last step ends for now.
    pub fn step(&self, k: u64, live: u64) -> Option<StepMark> {
        match usize::try_from(k).ok().and_then(|k| self.marks.get(k)) {
            Some(mark) => Some(*mark),
            None if k == self.marks.len() as u64 && self.detector.pending() => Some(StepMark {
                end: live,
                number: k,
                wall_time_ns: self.last_wall_time_ns,
            }),
            None => None,
        }
    }

    /// The last step whose number is at most `number` (numbers grow step by
    /// step).
    pub fn last_numbered(&self, number: u64) -> Option<u64> {
        let done = self.marks.partition_point(|m| m.number <= number) as u64;
        done.checked_sub(1)
    }

    /// Wall time of the log's first record.
    pub fn start_wall_time_ns(&self) -> Option<i64> {
        self.first_wall_time_ns
    }

    /// Bytes of memory the index holds.
    pub fn memory_bytes(&self) -> usize {
        self.marks.capacity() * std::mem::size_of::<StepMark>()
    }
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
