//! Restoring each logger session's order from at-least-once, possibly
//! reordered delivery.
//!
//! Every record carries its logger session's id and a sequence number (0, 1,
//! 2, ... per session). The sequencer releases each session's records in
//! sequence order, exactly once:
//!
//! * a record below the session's next expected number, or one already held,
//!   is a **duplicate** and is dropped;
//! * a record above it is **held** until the gap before it fills;
//! * a gap that stays open for [`SequencerOptions::gap_timeout`] (a message
//!   lost, e.g. by an emulator restart) is **skipped**: the held records go
//!   out and the missing ones, should they come later, count as duplicates;
//! * a session first seen at a number above 0 (the viewer subscribed
//!   mid-run, so the earlier records were published before it could receive
//!   them) is **joined** after [`SequencerOptions::join_grace`], at the lowest
//!   number seen by then;
//! * held records are bounded by [`SequencerOptions::max_held_bytes`]: past
//!   it, the oldest gap of the session that pushed is skipped early.
//!
//! The sequencer is generic over what it holds and takes the time as an
//! argument, so it is tested without a clock or a transport.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Tuning for a [`Sequencer`].
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// How long a gap may stay open before it is skipped.
    pub gap_timeout: Duration,
    /// How long a session first seen above sequence number 0 waits for lower
    /// numbers before starting at the lowest one seen.
    pub join_grace: Duration,
    /// The most bytes held across all sessions before gaps are skipped early.
    pub max_held_bytes: usize,
}

impl Default for SequencerOptions {
    fn default() -> Self {
        Self {
            gap_timeout: Duration::from_secs(10),
            join_grace: Duration::from_secs(1),
            max_held_bytes: 1 << 30,
        }
    }
}

/// What [`Sequencer::push`] did with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Released, possibly with held records after it.
    Released,
    /// Held until the gap before it fills.
    Held,
    /// Seen before: dropped.
    Duplicate,
}

/// Why records were given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The session was first seen mid-run.
    JoinedLate,
    /// The gap stayed open for the gap timeout.
    GapTimeout,
    /// Too many bytes were held.
    MemoryLimit,
    /// The source is closing.
    Shutdown,
}

/// Sequence numbers `first_missing..resumed_at` of a session were never
/// received and will not be released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skip {
    pub session_id: u64,
    pub first_missing: u64,
    pub resumed_at: u64,
    pub reason: SkipReason,
}

/// What the sequencer released, and the gaps it skipped, in order.
#[derive(Debug)]
pub struct Output<T> {
    pub released: Vec<T>,
    pub skips: Vec<Skip>,
}

impl<T> Default for Output<T> {
    fn default() -> Self {
        Self {
            released: Vec::new(),
            skips: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Held<T> {
    item: T,
    len_bytes: usize,
}

#[derive(Debug)]
struct Session<T> {
    /// The next sequence number to release; `None` until the session's
    /// start is known.
    next: Option<u64>,
    held: BTreeMap<u64, Held<T>>,
    /// When the current wait (for the start, or for a gap) began.
    waiting_since: Option<Instant>,
}

impl<T> Session<T> {
    fn new() -> Self {
        Self {
            next: None,
            held: BTreeMap::new(),
            waiting_since: None,
        }
    }

    /// Releases held records from `next` on while they are consecutive.
    fn release_run(&mut self, now: Instant, held_bytes: &mut usize, out: &mut Vec<T>) {
        let Some(mut next) = self.next else {
            return;
        };
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != next {
                break;
            }
            let held = entry.remove();
            *held_bytes -= held.len_bytes;
            out.push(held.item);
            next += 1;
        }
        self.next = Some(next);
        // A new gap (if any) starts now.
        self.waiting_since = (!self.held.is_empty()).then_some(now);
    }

    /// Gives up on the numbers before the first held record.
    fn skip_to_first_held(
        &mut self,
        session_id: u64,
        reason: SkipReason,
        now: Instant,
        held_bytes: &mut usize,
        out: &mut Output<T>,
    ) {
        let Some(&first_held) = self.held.keys().next() else {
            return;
        };
        let first_missing = self.next.unwrap_or(0);
        if first_held > first_missing {
            out.skips.push(Skip {
                session_id,
                first_missing,
                resumed_at: first_held,
                reason,
            });
        }
        self.next = Some(first_held);
        self.release_run(now, held_bytes, &mut out.released);
    }
}

/// Puts each session's records back in order; see the [module docs](self).
#[derive(Debug)]
pub struct Sequencer<T> {
    sessions: HashMap<u64, Session<T>>,
    options: SequencerOptions,
    held_bytes: usize,
}

impl<T> Sequencer<T> {
    pub fn new(options: SequencerOptions) -> Self {
        Self {
            sessions: HashMap::new(),
            options,
            held_bytes: 0,
        }
    }

    /// Bytes of records held, across sessions.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Whether record `seq` of `session_id` was released or is held: a copy
    /// of it arriving now would be a duplicate.
    pub fn is_known(&self, session_id: u64, seq: u64) -> bool {
        self.sessions
            .get(&session_id)
            .is_some_and(|s| s.next.is_some_and(|next| seq < next) || s.held.contains_key(&seq))
    }

    /// Takes record `seq` of `session_id` (`len_bytes` is what holding it
    /// costs); records it releases, and gaps it skips, go to `out`.
    pub fn push(
        &mut self,
        session_id: u64,
        seq: u64,
        item: T,
        len_bytes: usize,
        now: Instant,
        out: &mut Output<T>,
    ) -> Verdict {
        if self.is_known(session_id, seq) {
            return Verdict::Duplicate;
        }
        let session = self.sessions.entry(session_id).or_insert_with(Session::new);
        if session.next.is_none() && seq == 0 {
            session.next = Some(0);
        }
        if session.next == Some(seq) {
            out.released.push(item);
            session.next = Some(seq + 1);
            session.release_run(now, &mut self.held_bytes, &mut out.released);
            return Verdict::Released;
        }
        session.held.insert(seq, Held { item, len_bytes });
        self.held_bytes += len_bytes;
        session.waiting_since.get_or_insert(now);
        while self.held_bytes > self.options.max_held_bytes {
            match self.sessions.get_mut(&session_id) {
                Some(session) if !session.held.is_empty() => {
                    session.skip_to_first_held(session_id, SkipReason::MemoryLimit, now, &mut self.held_bytes, out)
                }
                _ => break,
            }
        }
        Verdict::Held
    }

    /// Skips gaps that have been open too long and starts sessions whose
    /// join grace is over. A gap whose next record `hold(session_id, seq)`
    /// says is still arriving (fragments coming in) is kept open.
    pub fn expire(&mut self, now: Instant, hold: impl Fn(u64, u64) -> bool, out: &mut Output<T>) {
        let mut ids: Vec<u64> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        for session_id in ids {
            let Some(session) = self.sessions.get_mut(&session_id) else {
                continue;
            };
            let Some(since) = session.waiting_since else {
                continue;
            };
            let waited = now.saturating_duration_since(since);
            let reason = match session.next {
                None if waited >= self.options.join_grace => SkipReason::JoinedLate,
                Some(next) if waited >= self.options.gap_timeout && !hold(session_id, next) => SkipReason::GapTimeout,
                _ => continue,
            };
            session.skip_to_first_held(session_id, reason, now, &mut self.held_bytes, out);
        }
    }

    /// Releases everything held, in order per session, skipping the gaps:
    /// the source is closing.
    pub fn drain(&mut self, now: Instant, out: &mut Output<T>) {
        let mut ids: Vec<u64> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        for session_id in ids {
            let Some(session) = self.sessions.get_mut(&session_id) else {
                continue;
            };
            while !session.held.is_empty() {
                let reason = match session.next {
                    None => SkipReason::JoinedLate,
                    Some(_) => SkipReason::Shutdown,
                };
                session.skip_to_first_held(session_id, reason, now, &mut self.held_bytes, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 0xabc;

    fn sequencer() -> Sequencer<u64> {
        Sequencer::new(SequencerOptions {
            gap_timeout: Duration::from_secs(10),
            join_grace: Duration::from_secs(1),
            max_held_bytes: 1000,
        })
    }

    /// Pushes `seqs` of session `S` at time `t0`; returns the released.
    fn push_all(seq: &mut Sequencer<u64>, t0: Instant, seqs: &[u64]) -> (Vec<u64>, Vec<Verdict>) {
        let mut out = Output::default();
        let verdicts = seqs.iter().map(|&s| seq.push(S, s, s, 10, t0, &mut out)).collect();
        (out.released, verdicts)
    }

    #[test]
    fn in_order_records_pass_straight_through() {
        let mut seq = sequencer();
        let (released, verdicts) = push_all(&mut seq, Instant::now(), &[0, 1, 2, 3]);
        assert_eq!(released, [0, 1, 2, 3]);
        assert!(verdicts.iter().all(|v| *v == Verdict::Released));
        assert_eq!(seq.held_bytes(), 0);
    }

    #[test]
    fn duplicates_are_dropped_released_or_held() {
        let mut seq = sequencer();
        let (released, verdicts) = push_all(&mut seq, Instant::now(), &[0, 1, 1, 0, 3, 3, 2, 3, 2]);
        assert_eq!(released, [0, 1, 2, 3]);
        use Verdict::*;
        assert_eq!(
            verdicts,
            [
                Released, Released, Duplicate, Duplicate, Held, Duplicate, Released, Duplicate, Duplicate
            ]
        );
        assert!(seq.is_known(S, 3) && !seq.is_known(S, 4) && !seq.is_known(S + 1, 0));
    }

    #[test]
    fn reordered_records_are_put_back_in_order() {
        let mut seq = sequencer();
        let (released, _) = push_all(&mut seq, Instant::now(), &[0, 3, 2, 5, 1, 4, 6]);
        assert_eq!(released, [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn sessions_are_independent() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        let mut out = Output::default();
        seq.push(1, 0, 10, 1, t0, &mut out);
        seq.push(2, 1, 21, 1, t0, &mut out);
        seq.push(1, 1, 11, 1, t0, &mut out);
        seq.push(2, 0, 20, 1, t0, &mut out);
        assert_eq!(out.released, [10, 11, 20, 21]);
    }

    #[test]
    fn a_gap_is_skipped_after_the_timeout() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        let (released, _) = push_all(&mut seq, t0, &[0, 1, 4, 5]);
        assert_eq!(released, [0, 1]);
        let mut out = Output::default();
        seq.expire(t0 + Duration::from_secs(9), |_, _| false, &mut out);
        assert!(out.released.is_empty());
        // Still arriving (a fragment set in progress): kept open.
        seq.expire(t0 + Duration::from_secs(11), |_, n| n == 2, &mut out);
        assert!(out.released.is_empty());
        seq.expire(t0 + Duration::from_secs(11), |_, _| false, &mut out);
        assert_eq!(out.released, [4, 5]);
        assert_eq!(
            out.skips,
            [Skip {
                session_id: S,
                first_missing: 2,
                resumed_at: 4,
                reason: SkipReason::GapTimeout
            }]
        );
        // The missing records, arriving late, are duplicates now.
        let mut out = Output::default();
        assert_eq!(seq.push(S, 3, 3, 10, t0, &mut out), Verdict::Duplicate);
        assert_eq!(seq.push(S, 6, 6, 10, t0, &mut out), Verdict::Released);
        assert_eq!(seq.held_bytes(), 0);
    }

    #[test]
    fn the_gap_clock_restarts_after_progress() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        push_all(&mut seq, t0, &[0, 2, 4]);
        let mut out = Output::default();
        seq.push(S, 1, 1, 10, t0 + Duration::from_secs(8), &mut out);
        assert_eq!(out.released, [1, 2]);
        seq.expire(t0 + Duration::from_secs(12), |_, _| false, &mut out);
        assert_eq!(out.released, [1, 2], "3 has been missing for only 4 s");
        seq.expire(t0 + Duration::from_secs(18), |_, _| false, &mut out);
        assert_eq!(out.released, [1, 2, 4]);
    }

    #[test]
    fn a_session_seen_mid_run_starts_at_its_lowest_record_after_the_grace() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        let (released, _) = push_all(&mut seq, t0, &[7, 5, 6]);
        assert!(released.is_empty());
        let mut out = Output::default();
        seq.expire(t0 + Duration::from_millis(500), |_, _| false, &mut out);
        assert!(out.released.is_empty());
        seq.expire(t0 + Duration::from_secs(1), |_, _| false, &mut out);
        assert_eq!(out.released, [5, 6, 7]);
        assert_eq!(out.skips[0].reason, SkipReason::JoinedLate);
        assert_eq!((out.skips[0].first_missing, out.skips[0].resumed_at), (0, 5));
        assert!(seq.is_known(S, 4));
    }

    #[test]
    fn record_zero_starts_a_session_at_once() {
        let mut seq = sequencer();
        let (released, _) = push_all(&mut seq, Instant::now(), &[2, 1, 0]);
        assert_eq!(released, [0, 1, 2]);
    }

    #[test]
    fn holding_too_much_skips_early() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        let mut out = Output::default();
        seq.push(S, 0, 0, 10, t0, &mut out);
        for s in 2..=101 {
            seq.push(S, s, s, 10, t0, &mut out);
        }
        assert_eq!(out.released.len(), 1);
        // The 101st held record passes 1000 bytes.
        seq.push(S, 102, 102, 10, t0, &mut out);
        assert_eq!(out.released.len(), 102);
        assert_eq!(out.skips[0].reason, SkipReason::MemoryLimit);
        assert_eq!(seq.held_bytes(), 0);
    }

    #[test]
    fn draining_releases_everything_in_order() {
        let mut seq = sequencer();
        let t0 = Instant::now();
        push_all(&mut seq, t0, &[0, 3, 6, 5]);
        let mut out = Output::default();
        seq.drain(t0, &mut out);
        assert_eq!(out.released, [3, 5, 6]);
        assert_eq!(out.skips.len(), 2);
        assert!(out.skips.iter().all(|s| s.reason == SkipReason::Shutdown));
        assert_eq!(seq.held_bytes(), 0);
    }
}
