//! The one loop from a source to whatever shows its records.
//!
//! The window, `--export`, `--screenshot` and both kinds of `--record` all
//! read through a [`Reader`]: it owns following (poll again when caught up,
//! or finish), idle stops, the warnings about damaged bytes and restarts,
//! and the stop flag. What it hands on is only what changes the plots: a
//! record, or "start over" ([`Update`]). [`Reader::apply`] applies an update
//! to a store, warning about records the store refuses.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{RecordSource, SourceError, SourceEvent};
use crate::calls::printable;
use crate::format::Record;
use crate::store::{ApplyError, Runs, Store};

/// How often a followed source is checked for new data.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Records refused by a store in this process, by kind of refusal.
static REFUSED: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());
/// How many refused records are told one by one.
const REFUSED_TOLD: u64 = 50;

/// When to stop reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Follow {
    /// Stop at the current end.
    No,
    /// Follow until stopped, or until the source has not grown for the
    /// given time.
    Yes { stop_after_idle: Option<Duration> },
}

/// What changes the plots.
// Records move through once, from source to store: boxing them would cost
// an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Update {
    /// A whole record, at `offset` in the source.
    Record { offset: u64, record: Record },
    /// The source started over (a file shrank, was rewritten or replaced):
    /// everything read before is void.
    Restarted,
}

/// What [`Reader::poll`] found.
#[allow(clippy::large_enum_variant)] // see `Update`
#[derive(Debug)]
pub enum Poll {
    Update(Update),
    /// Caught up; more may come (poll again after [`POLL_INTERVAL`]).
    Waiting,
    /// Nothing more will be read: the end (not following), idle, or stopped.
    Finished,
}

/// Reads a source: see the module docs.
pub struct Reader<'a> {
    source: Box<dyn RecordSource + 'a>,
    name: String,
    follow: Follow,
    stop: Option<Arc<AtomicBool>>,
    /// When the source last grew, and how much it had then.
    last_growth: Instant,
    bytes_seen: u64,
    finished: bool,
    /// "Caught up" was logged since the last record.
    caught_up_logged: bool,
    /// Only records of these runs (run names, or labels `name (part)`);
    /// all when empty.
    only_runs: Vec<String>,
    /// Kept alive as long as the reader (the demo's writer thread).
    _keep_alive: Option<Box<dyn Send + 'a>>,
}

impl<'a> Reader<'a> {
    pub fn new(source: Box<dyn RecordSource + 'a>, follow: Follow) -> Self {
        Self {
            name: printable(&source.describe()).into_owned(),
            source,
            follow,
            stop: None,
            last_growth: Instant::now(),
            bytes_seen: 0,
            finished: false,
            caught_up_logged: false,
            only_runs: Vec::new(),
            _keep_alive: None,
        }
    }

    /// Hands on only the records of the runs named (`--run`): a logger's
    /// run name, or a label `name (part)` such as `myapp (b.log)`.
    pub fn with_runs(mut self, runs: Vec<String>) -> Self {
        self.only_runs = runs;
        self
    }

    fn wanted(&self, record: &Record) -> bool {
        let name = &record.meta.run_name;
        self.only_runs.is_empty()
            || self.only_runs.iter().any(|want| {
                want == name
                    || want
                        .strip_prefix(name.as_str())
                        .and_then(|rest| rest.strip_prefix(" ("))
                        .and_then(|rest| rest.strip_suffix(')'))
                        .is_some_and(|part| part == self.source.part_name(self.source.part()))
            })
    }

    /// Finishes as soon as `stop` is set (Ctrl-C).
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Keeps `value` alive as long as the reader.
    pub fn keep_alive(mut self, value: Box<dyn Send + 'a>) -> Self {
        self._keep_alive = Some(value);
        self
    }

    /// What is read, for titles and messages.
    pub fn describe(&self) -> &str {
        &self.name
    }

    pub fn follow(&self) -> Follow {
        self.follow
    }

    /// Which part of the source (which log of several) the last update
    /// came from.
    pub fn part(&self) -> usize {
        self.source.part()
    }

    /// A short name of part `part` ("b.log"; the source's name for a
    /// source of one part).
    pub fn part_name(&self, part: usize) -> String {
        printable(&self.source.part_name(part)).into_owned()
    }

    /// Whether the stop flag was set.
    pub fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    /// The next update, without waiting.
    pub fn poll(&mut self) -> Result<Poll, SourceError> {
        if self.finished {
            return Ok(Poll::Finished);
        }
        if self.is_stopped() {
            self.finished = true;
            return Ok(Poll::Finished);
        }
        loop {
            let event = self.source.next_event()?;
            self.note_growth(event.is_some());
            match event {
                Some(SourceEvent::Record { offset, record }) => {
                    self.caught_up_logged = false;
                    if !self.wanted(&record) {
                        continue;
                    }
                    return Ok(Poll::Update(Update::Record { offset, record }));
                }
                Some(SourceEvent::Corrupt { offset, error }) => {
                    log::warn!(
                        "{}: skipping corrupt record at byte offset {offset}: {error}",
                        self.name
                    );
                }
                Some(SourceEvent::Restarted { reason }) => {
                    log::warn!("{}; starting over", printable(&reason));
                    return Ok(Poll::Update(Update::Restarted));
                }
                None => return Ok(self.caught_up()),
            }
        }
    }

    /// The next update, waiting for one while following; `None` once
    /// finished.
    pub fn next_update(&mut self) -> Result<Option<Update>, SourceError> {
        loop {
            match self.poll()? {
                Poll::Update(update) => return Ok(Some(update)),
                Poll::Waiting => std::thread::sleep(POLL_INTERVAL),
                Poll::Finished => return Ok(None),
            }
        }
    }

    /// Reads until finished, applying every update to `store`.
    pub fn read_into(&mut self, store: &mut Store) -> Result<(), SourceError> {
        while let Some(update) = self.next_update()? {
            self.apply(store, &update);
        }
        Ok(())
    }

    /// Applies `update` to `store`, warning about a record it refuses.
    pub fn apply(&self, store: &mut Store, update: &Update) {
        apply_update(store, update, &self.name);
    }

    /// Reads until finished, each record into its run (see [`Runs`]).
    pub fn read_into_runs(&mut self, runs: &mut Runs) -> Result<(), SourceError> {
        let mut names: Vec<String> = Vec::new();
        while let Some(update) = self.next_update()? {
            let part = self.part();
            while names.len() <= part {
                names.push(self.part_name(names.len()));
            }
            apply_to_runs(runs, part, &names[part], &update);
        }
        Ok(())
    }

    fn note_growth(&mut self, got_event: bool) {
        let seen = self.source.bytes_seen();
        if got_event || seen != self.bytes_seen {
            self.bytes_seen = seen;
            self.last_growth = Instant::now();
        }
    }

    /// Caught up with the source: wait, or finish.
    fn caught_up(&mut self) -> Poll {
        let finish = match self.follow {
            Follow::No => true,
            Follow::Yes { stop_after_idle } => stop_after_idle.is_some_and(|idle| {
                let idle_for = self.last_growth.elapsed();
                let done = idle_for >= idle;
                if done {
                    log::info!(
                        "{}: nothing new for {:.1} s; stopping",
                        self.name,
                        idle_for.as_secs_f64()
                    );
                }
                done
            }),
        };
        if !finish {
            if !self.caught_up_logged {
                self.caught_up_logged = true;
                log::debug!("{}: caught up at {} bytes", self.name, self.bytes_seen);
            }
            return Poll::Waiting;
        }
        self.finished = true;
        if let Some((offset, len_bytes)) = self.source.incomplete_tail() {
            log::warn!(
                "{}: the last {len_bytes} bytes (from byte offset {offset}) are not a whole record: \
                 still being written, or cut off",
                self.name
            );
        }
        Poll::Finished
    }
}

/// Applies `update` to `store`; a record the store refuses is skipped with
/// a warning naming `source_name` and the record's offset.
pub fn apply_update(store: &mut Store, update: &Update, source_name: &str) {
    match update {
        Update::Record { offset, record } => {
            if let Err(err) = store.apply(record) {
                warn_refused(source_name, *offset, &err);
            }
        }
        Update::Restarted => store.reset(),
    }
}

/// Applies `update` from source part `part` (named `part_name`) to its run,
/// warning about a record the run's store refuses.
pub fn apply_to_runs(runs: &mut Runs, part: usize, part_name: &str, update: &Update) {
    match update {
        Update::Record { offset, record } => {
            if let Err(err) = runs.apply(part, || part_name.to_owned(), record) {
                warn_refused(part_name, *offset, &err);
            }
        }
        Update::Restarted => runs.restart(part),
    }
}

/// Warns that the record at `offset` was refused. A hostile log can hold
/// millions of refused records: the first of each kind are told one by
/// one, the rest counted.
fn warn_refused(source_name: &str, offset: u64, err: &ApplyError) {
    let refused = {
        let mut counts = REFUSED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(err.kind()).or_default();
        *count += 1;
        *count
    };
    if refused <= REFUSED_TOLD {
        log::warn!(
            "{source_name}: record at byte offset {offset} not shown: {}",
            printable(&err.to_string())
        );
    } else if refused.is_power_of_two() || refused % 100_000 == 0 {
        log::warn!(
            "{source_name}: {refused} records not shown so far, like the one at byte offset {offset}: {}",
            printable(&err.to_string())
        );
    }
}

/// Reads `source` to its current end into `store` (a [`Reader`] that does
/// not follow).
pub fn read_to_end(source: &mut dyn RecordSource, store: &mut Store) -> Result<(), SourceError> {
    Reader::new(Box::new(source), Follow::No).read_into(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FrameError, RecordBody};

    /// A scripted source: events, then `None` forever; `bytes_seen` grows
    /// by `growth` at every call while `growing` lasts.
    struct Script {
        events: std::collections::VecDeque<SourceEvent>,
        seen: u64,
        growing: usize,
    }

    impl RecordSource for Script {
        fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
            if self.growing > 0 {
                self.growing -= 1;
                self.seen += 1;
            }
            Ok(self.events.pop_front())
        }
        fn describe(&self) -> String {
            "script\u{1b}[31m".into()
        }
        fn bytes_seen(&self) -> u64 {
            self.seen
        }
    }

    fn step(seq: u64) -> SourceEvent {
        SourceEvent::Record {
            offset: seq * 8,
            record: Record::for_test(RecordBody::Step(seq)),
        }
    }

    #[test]
    fn corrupt_bytes_are_skipped_and_restarts_reach_the_caller() {
        let events = vec![
            step(0),
            SourceEvent::Corrupt {
                offset: 8,
                error: FrameError::BadMarker { found: *b"xxxx" },
            },
            SourceEvent::Restarted { reason: "gone".into() },
            step(1),
        ];
        let source = Script {
            events: events.into(),
            seen: 0,
            growing: 0,
        };
        let mut reader = Reader::new(Box::new(source), Follow::No);
        assert!(matches!(
            reader.next_update().unwrap(),
            Some(Update::Record { offset: 0, .. })
        ));
        assert!(matches!(reader.next_update().unwrap(), Some(Update::Restarted)));
        assert!(matches!(
            reader.next_update().unwrap(),
            Some(Update::Record { offset: 8, .. })
        ));
        assert!(reader.next_update().unwrap().is_none());
        assert!(matches!(reader.poll().unwrap(), Poll::Finished));
        assert_eq!(reader.describe(), "script\\u{1b}[31m");
    }

    #[test]
    fn idle_means_no_growth_not_no_records() {
        // No record at all for 40 polls, but the source keeps growing (a
        // large record being written): not idle.
        let source = Script {
            events: Default::default(),
            seen: 0,
            growing: 40,
        };
        let idle = Duration::from_millis(30);
        let mut reader = Reader::new(
            Box::new(source),
            Follow::Yes {
                stop_after_idle: Some(idle),
            },
        );
        let started = Instant::now();
        let mut polls = 0;
        loop {
            match reader.poll().unwrap() {
                Poll::Waiting => {
                    polls += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Poll::Finished => break,
                Poll::Update(update) => panic!("{update:?}"),
            }
        }
        assert!(polls >= 40, "finished after {polls} polls while the source grew");
        assert!(started.elapsed() >= idle);
    }

    #[test]
    fn a_stop_flag_finishes() {
        let stop = Arc::new(AtomicBool::new(false));
        let source = Script {
            events: vec![step(0)].into(),
            seen: 0,
            growing: 0,
        };
        let mut reader = Reader::new(Box::new(source), Follow::Yes { stop_after_idle: None }).with_stop(stop.clone());
        assert!(matches!(reader.poll().unwrap(), Poll::Update(_)));
        assert!(matches!(reader.poll().unwrap(), Poll::Waiting));
        stop.store(true, Ordering::Relaxed);
        assert!(matches!(reader.poll().unwrap(), Poll::Finished));
    }
}
