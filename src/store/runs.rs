//! Several runs: the records of one run name from one source part (one log
//! of several, or the Pub/Sub topic) are a run, with a [`Store`] of its own.
//!
//! Two logs whose apps used the same run name are two runs, labelled with
//! their log's name so they can be told apart (`myapp (b.log)`); several
//! sessions under one run name in one log (an app restarted appending to
//! the same file) stay one run, as in the original streamvis.

use std::collections::{BTreeMap, HashMap};

use super::{ApplyError, StepRule, Store, export};
use crate::format::Record;

/// One run and its plots.
#[derive(Debug)]
pub struct Run {
    /// The logger's run name.
    pub name: String,
    /// The source part it came from, and that part's short name.
    pub part: usize,
    pub part_name: String,
    pub store: Store,
}

/// Every run read so far, in order of first record.
#[derive(Debug, Default)]
pub struct Runs {
    runs: Vec<Run>,
    index: HashMap<(usize, String), usize>,
    rule: Option<StepRule>,
    /// Revisions of runs gone with a restart, plus one per restart.
    retired: u64,
}

impl Runs {
    /// Runs whose stores find steps by `rule` (see [`Store::with_step_rule`]).
    pub fn new(rule: Option<StepRule>) -> Self {
        Self {
            rule,
            ..Self::default()
        }
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Applies `record` from source part `part` to its run's store (made on
    /// its first record; `part_name` is asked for then).
    pub fn apply(
        &mut self,
        part: usize,
        part_name: impl FnOnce() -> String,
        record: &Record,
    ) -> Result<(), ApplyError> {
        let key = (part, record.meta.run_name.clone());
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.runs.push(Run {
                    name: key.1.clone(),
                    part,
                    part_name: part_name(),
                    store: Store::with_step_rule(self.rule.clone()),
                });
                self.index.insert(key, self.runs.len() - 1);
                self.runs.len() - 1
            }
        };
        self.runs[i].store.apply(record)
    }

    /// Source part `part` started over: its runs are gone (a rewritten log
    /// may hold other runs).
    pub fn restart(&mut self, part: usize) {
        self.retired += 1 + self
            .runs
            .iter()
            .filter(|run| run.part == part)
            .map(|run| run.store.revision())
            .sum::<u64>();
        self.runs.retain(|run| run.part != part);
        self.index = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| ((run.part, run.name.clone()), i))
            .collect();
    }

    /// Changes with every record applied to any run and every restart.
    pub fn revision(&self) -> u64 {
        self.retired + self.runs.iter().map(|run| run.store.revision()).sum::<u64>()
    }

    /// The run whose steps the timeline counts: the one with the most
    /// steps (the first of those).
    pub fn clock(&self) -> Option<&Store> {
        let most = self.runs.iter().map(|run| run.store.steps()).max()?;
        self.runs
            .iter()
            .find(|run| run.store.steps() == most)
            .map(|run| &run.store)
    }

    /// Each run's state at step `k` of the clock run, aligned by the
    /// logger's step numbers: a run shows its last step numbered at most
    /// that step's number (nothing yet if it has none).
    pub fn state_at<'a>(&'a self, run: &'a Run, k: u64) -> Option<super::Snapshot<'a>> {
        let clock = self.clock()?;
        if std::ptr::eq(clock, &run.store) {
            return run.store.at_step(k);
        }
        let number = clock.step(k)?.number;
        match run.store.timeline().last_numbered(number) {
            Some(j) => run.store.at_step(j),
            None => Some(run.store.at_record(0)),
        }
    }

    /// How run `i` is called: its name, or `name (part)` when another run
    /// has the same name.
    pub fn label(&self, i: usize) -> String {
        let run = &self.runs[i];
        let shared = self.runs.iter().filter(|other| other.name == run.name).count() > 1;
        if shared {
            format!("{} ({})", run.name, run.part_name)
        } else {
            run.name.clone()
        }
    }

    /// The export of every run: with one run (or none), the shape of
    /// [`export`]; with several, `{"runs": {LABEL: <that shape>}}`.
    pub fn export(&self) -> serde_json::Value {
        self.export_with(|run| Some(run.store.live()))
            .expect("every run has its live state")
    }

    /// [`Runs::export`] of the state `state` picks per run; `Err` is the
    /// index of the first run it has none for.
    pub fn export_with<'a>(
        &'a self,
        state: impl Fn(&'a Run) -> Option<super::Snapshot<'a>>,
    ) -> Result<serde_json::Value, usize> {
        let mut exports = BTreeMap::new();
        for (i, run) in self.runs.iter().enumerate() {
            let snapshot = state(run).ok_or(i)?;
            let value = serde_json::to_value(export(&snapshot)).expect("exports serialise");
            exports.insert(self.label(i), value);
        }
        Ok(match exports.len() {
            0 => serde_json::json!({}),
            1 => exports.into_values().next().expect("one"),
            _ => serde_json::json!({ "runs": exports }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{GridCell, RecordBody, RecordMeta};

    fn record(run: &str, body: RecordBody) -> Record {
        Record {
            meta: RecordMeta {
                session_id: 1,
                seq: 0,
                wall_time_ns: 0,
                run_name: run.into(),
            },
            body,
        }
    }

    fn layout(run: &str, plot: &str) -> Record {
        record(run, RecordBody::Layout(vec![(plot.into(), GridCell::new(0, 0, 1, 1))]))
    }

    #[test]
    fn runs_are_names_per_part_and_labelled_when_shared() {
        let mut runs = Runs::new(None);
        runs.apply(0, || "a.log".into(), &layout("x", "p")).unwrap();
        runs.apply(0, || "a.log".into(), &layout("y", "q")).unwrap();
        runs.apply(1, || "b.log".into(), &layout("x", "r")).unwrap();
        runs.apply(0, || unreachable!("known run"), &layout("x", "s")).unwrap();
        assert_eq!(runs.len(), 3);
        let labels: Vec<String> = (0..3).map(|i| runs.label(i)).collect();
        assert_eq!(labels, ["x (a.log)", "y", "x (b.log)"]);
        assert_eq!(runs.runs()[0].store.layout()[0].0, "s", "one run, its own layout");
        runs.restart(0);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs.label(0), "x", "alone again: no part in the label");
        let export = runs.export();
        assert!(export.get("runs").is_none(), "one run: the single-run shape");
    }
}
