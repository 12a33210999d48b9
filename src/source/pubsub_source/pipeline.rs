//! From message bytes to released records, without any I/O but the local
//! log: decode the frames of a message, join fragments, drop duplicates,
//! restore each session's order, and append what is released to the local
//! log before handing it on.
//!
//! Kept apart from the transport so that it is tested by feeding it
//! messages made by the format's own packing code ([`pack_messages`]).
//!
//! [`pack_messages`]: crate::format::pack_messages

use std::time::Instant;

use bytes::Bytes;

use super::reassembly::{Abandoned, Reassembler, ReassemblyOptions};
use super::sequencer::{Output, Sequencer, SequencerOptions, Skip, SkipReason, Verdict};
use crate::format::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameError, FrameScanner, Record, RecordBody, StreamEvent, read_prefix,
};
use crate::log_file::LogFileWriter;
use crate::source::SourceEvent;

/// Frames smaller than this are gathered into one write to the local log.
const LOG_BATCH_BYTES: usize = 1 << 20;

/// Counts kept for the summary a source logs when it closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    pub messages: u64,
    pub message_bytes: u64,
    /// Records (or unreadable frames) released, in order.
    pub released: u64,
    pub duplicates: u64,
    pub fragments: u64,
    pub joined: u64,
    /// Records given up on: gaps skipped (not counting a late join).
    pub lost: u64,
    pub corrupt: u64,
}

/// A record (or a frame that checks out but cannot be read) waiting for its
/// turn.
#[derive(Debug)]
pub struct Released {
    /// The frame's bytes, for the local log; `None` when they are not worth
    /// keeping (a joined frame that failed to decode).
    frame: Option<Bytes>,
    content: Result<Record, FrameError>,
}

/// The message-to-records path of a Pub/Sub source; see the
/// [module docs](self).
pub struct Pipeline {
    name: String,
    reassembler: Reassembler,
    sequencer: Sequencer<Released>,
    sequencer_options: SequencerOptions,
    log: Option<LogFileWriter>,
    log_failures: u64,
    /// Where the next released frame sits in a local log started afresh.
    next_offset: u64,
    /// Bytes of frames released since [`Pipeline::take_released_bytes`].
    released_bytes: u64,
    stats: PipelineStats,
}

impl Pipeline {
    /// `name` prefixes warnings; released frames are appended to `log`.
    pub fn new(
        name: String,
        sequencer_options: SequencerOptions,
        reassembly_options: ReassemblyOptions,
        log: Option<LogFileWriter>,
    ) -> Self {
        Self {
            name,
            reassembler: Reassembler::new(reassembly_options),
            sequencer: Sequencer::new(sequencer_options.clone()),
            sequencer_options,
            log,
            log_failures: 0,
            next_offset: FILE_HEADER_LEN as u64,
            released_bytes: 0,
            stats: PipelineStats::default(),
        }
    }

    pub fn stats(&self) -> PipelineStats {
        self.stats
    }

    /// Bytes of the frames released since the last call: what the events
    /// handed out since then hold.
    pub fn take_released_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.released_bytes)
    }

    /// Pushes one message's frames through the pipeline (decode, join,
    /// dedupe, sequence); returns the events this releases, in order, after
    /// appending their frames to the local log. Like the reassembler's and
    /// sequencer's `push`, it may release nothing yet.
    pub fn push_message(&mut self, data: &Bytes, now: Instant) -> Vec<SourceEvent> {
        self.stats.messages += 1;
        self.stats.message_bytes += data.len() as u64;
        let mut out = Output::default();
        let mut events = Vec::new();
        let mut scanner = FrameScanner::for_message();
        loop {
            let event = match scanner.next_event(data, 0) {
                Ok(Some(event)) => event,
                Ok(None) => break,
                // Messages have no file header: this cannot happen.
                Err(err) => {
                    log::warn!("{}: unreadable message: {err}", self.name);
                    break;
                }
            };
            let end = scanner.position() as usize;
            match event {
                StreamEvent::Record { offset, record } => {
                    let frame = data.slice(offset as usize..end);
                    self.accept(frame, Ok(record), now, &mut out);
                }
                StreamEvent::Corrupt { offset, error } => {
                    // Checksums hold, the body does not parse (or is of a
                    // newer kind): sequence it by its prefix, so the local log
                    // stays a copy of the logger's.
                    let start = offset as usize;
                    let frame = (start < end && readable_frame_error(&error)).then(|| data.slice(start..end));
                    match frame.as_deref().and_then(frame_key) {
                        Some(key) => self.sequence(key, frame, Err(error), now, &mut out),
                        None => {
                            self.stats.corrupt += 1;
                            events.push(SourceEvent::Corrupt { offset, error });
                        }
                    }
                }
            }
        }
        let leftover = data.len() as u64 - scanner.position().min(data.len() as u64);
        if leftover > 0 {
            self.stats.corrupt += 1;
            log::warn!(
                "{}: a message ends with {leftover} bytes that are not a whole frame; skipped",
                self.name
            );
        }
        events.extend(self.release(out));
        events
    }

    /// Skips gaps open too long and drops fragment sets that stopped
    /// arriving. Call it every so often.
    pub fn tick(&mut self, now: Instant) -> Vec<SourceEvent> {
        let mut out = Output::default();
        let window = self.sequencer_options.gap_timeout;
        let reassembler = &self.reassembler;
        self.sequencer.expire(
            now,
            |session, seq| reassembler.progressing(session, seq, now, window),
            &mut out,
        );
        for abandoned in self.reassembler.expire(now) {
            self.warn_abandoned(&abandoned, "no piece arrived for a long time");
        }
        self.release(out)
    }

    /// Releases everything held, skipping gaps: the source is closing.
    pub fn finish(&mut self, now: Instant) -> Vec<SourceEvent> {
        for abandoned in self.reassembler.drain() {
            self.warn_abandoned(&abandoned, "the source is closing");
        }
        let mut out = Output::default();
        self.sequencer.drain(now, &mut out);
        self.release(out)
    }

    fn accept(&mut self, frame: Bytes, record: Result<Record, FrameError>, now: Instant, out: &mut Output<Released>) {
        let Ok(Record {
            meta,
            body: RecordBody::Fragment(fragment),
        }) = &record
        else {
            let key = match &record {
                Ok(r) => (r.meta.session_id, r.meta.seq),
                Err(_) => match frame_key(&frame) {
                    Some(key) => key,
                    None => return,
                },
            };
            self.sequence(key, Some(frame), record, now, out);
            return;
        };
        self.stats.fragments += 1;
        let key = (meta.session_id, meta.seq);
        if self.sequencer.is_known(key.0, key.1) {
            self.stats.duplicates += 1;
            return;
        }
        let mut abandoned = Vec::new();
        let pushed = self.reassembler.push(key.0, key.1, fragment, now, &mut abandoned);
        for set in &abandoned {
            self.warn_abandoned(set, "too many bytes were held in incomplete sets");
        }
        let joined = match pushed {
            Ok(None) => return,
            Ok(Some(joined)) => joined,
            Err(err) => {
                self.stats.corrupt += 1;
                log::warn!(
                    "{}: session {:016x} record {}: {err}; piece dropped",
                    self.name,
                    key.0,
                    key.1
                );
                return;
            }
        };
        self.stats.joined += 1;
        let mut scanner = FrameScanner::for_message();
        let decoded = match scanner.next_event(&joined, 0) {
            Ok(Some(StreamEvent::Record { record, .. })) if scanner.position() == joined.len() as u64 => Ok(record),
            Ok(Some(StreamEvent::Corrupt { error, .. })) => Err(error),
            _ => {
                self.stats.corrupt += 1;
                log::warn!(
                    "{}: session {:016x} record {}: the joined fragments are not one whole frame; dropped",
                    self.name,
                    key.0,
                    key.1
                );
                return;
            }
        };
        match decoded {
            Ok(record) if (record.meta.session_id, record.meta.seq) != key => {
                self.stats.corrupt += 1;
                log::warn!(
                    "{}: fragments of session {:016x} record {} joined into record {} of session {:016x}; dropped",
                    self.name,
                    key.0,
                    key.1,
                    record.meta.seq,
                    record.meta.session_id
                );
            }
            Ok(record) if matches!(record.body, RecordBody::Fragment(_)) => {
                self.stats.corrupt += 1;
                log::warn!("{}: fragments joined into another fragment; dropped", self.name);
            }
            Ok(record) => self.sequence(key, Some(joined), Ok(record), now, out),
            // Not written to the local log: the logger never wrote it so.
            Err(error) => self.sequence(key, None, Err(error), now, out),
        }
    }

    fn sequence(
        &mut self,
        (session_id, seq): (u64, u64),
        frame: Option<Bytes>,
        content: Result<Record, FrameError>,
        now: Instant,
        out: &mut Output<Released>,
    ) {
        let len_bytes = frame.as_ref().map_or(0, Bytes::len);
        let item = Released { frame, content };
        if self.sequencer.push(session_id, seq, item, len_bytes, now, out) == Verdict::Duplicate {
            self.stats.duplicates += 1;
        }
    }

    /// Appends released frames to the local log, then turns them into
    /// events.
    fn release(&mut self, out: Output<Released>) -> Vec<SourceEvent> {
        for skip in &out.skips {
            self.report_skip(skip);
        }
        self.write_log(&out.released);
        let mut events = Vec::with_capacity(out.released.len());
        for released in out.released {
            self.stats.released += 1;
            let offset = self.next_offset;
            let len_bytes = released.frame.as_ref().map_or(0, |f| f.len() as u64);
            self.next_offset += len_bytes;
            self.released_bytes += len_bytes;
            events.push(match released.content {
                Ok(record) => SourceEvent::Record { offset, record },
                Err(error) => SourceEvent::Corrupt { offset, error },
            });
        }
        events
    }

    /// Appends frames in order, small ones gathered into one write.
    fn write_log(&mut self, released: &[Released]) {
        let Some(log) = &mut self.log else {
            return;
        };
        let mut failures = Vec::new();
        let mut batch: Vec<u8> = Vec::new();
        for frame in released.iter().filter_map(|r| r.frame.as_ref()) {
            if frame.len() >= LOG_BATCH_BYTES {
                if !batch.is_empty() {
                    failures.extend(log.append(&batch).err());
                    batch.clear();
                }
                failures.extend(log.append(frame).err());
            } else {
                batch.extend_from_slice(frame);
            }
        }
        if !batch.is_empty() {
            failures.extend(log.append(&batch).err());
        }
        for err in failures {
            // Warn at the first failure and then now and then: the view
            // goes on without the copy.
            if self.log_failures.is_power_of_two() || self.log_failures == 0 {
                log::warn!("{}: writing the local log: {err}", self.name);
            }
            self.log_failures += 1;
        }
    }

    fn report_skip(&mut self, skip: &Skip) {
        let Skip {
            session_id,
            first_missing,
            resumed_at,
            reason,
        } = *skip;
        let missing = resumed_at - first_missing;
        let what = match reason {
            SkipReason::JoinedLate => {
                log::info!(
                    "{}: session {session_id:016x} joined at record {resumed_at} (the ones before were published \
                     before this viewer subscribed)",
                    self.name
                );
                return;
            }
            SkipReason::GapTimeout => format!(
                "never arrived within {:.0} s",
                self.sequencer_options.gap_timeout.as_secs_f64()
            ),
            SkipReason::MemoryLimit => "did not arrive before too many later records were held".to_owned(),
            SkipReason::Shutdown => "had not arrived when the source closed".to_owned(),
        };
        self.stats.lost += missing;
        log::warn!(
            "{}: session {session_id:016x}: {missing} record(s) {first_missing}..{resumed_at} {what}; going on \
             without them",
            self.name
        );
    }

    fn warn_abandoned(&mut self, set: &Abandoned, why: &str) {
        self.stats.corrupt += 1;
        log::warn!(
            "{}: session {:016x} record {}: dropped {} of {} fragments ({} of {} bytes): {why}",
            self.name,
            set.session_id,
            set.seq,
            set.pieces,
            set.count,
            set.received_bytes,
            set.total_len
        );
    }
}

/// Errors after which the frame's extent is known (the scanner moved past
/// it) and its prefix may still be read.
fn readable_frame_error(error: &FrameError) -> bool {
    matches!(error, FrameError::UnknownKind { .. } | FrameError::Body(_))
}

/// Session id and sequence number from a frame's body prefix.
fn frame_key(frame: &[u8]) -> Option<(u64, u64)> {
    let prefix = read_prefix(frame.get(FRAME_HEADER_LEN..)?).ok()?;
    Some((prefix.meta.session_id, prefix.meta.seq))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::format::{
        DataCall, FrameHeader, GridCell, RecordMeta, TensorView, encode_record, pack_messages, split_frames,
    };

    /// Frames of one session: a layout, then `steps` scatters of `points`
    /// points each.
    fn session_frames(session_id: u64, steps: u64, points: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let meta = |seq| RecordMeta {
            session_id,
            seq,
            wall_time_ns: 1,
            run_name: "run".into(),
        };
        let layout = RecordBody::<TensorView>::Layout(vec![("cloud".into(), GridCell::new(0, 0, 1, 1))]);
        encode_record(&meta(0), &layout, &mut out);
        for step in 0..steps {
            let values: Vec<f32> = (0..points * 2).map(|i| (i as u64 + step) as f32).collect();
            let shape = [points, 2];
            let body = RecordBody::Scatter(DataCall {
                plot: "cloud".into(),
                spatial_dim: 1,
                append: true,
                color: None,
                grid: None,
                line_dims: vec![],
                data: TensorView::new(&shape, &values),
            });
            encode_record(&meta(step + 1), &body, &mut out);
        }
        out
    }

    fn pipeline(log: Option<LogFileWriter>) -> Pipeline {
        Pipeline::new(
            "test".into(),
            SequencerOptions::default(),
            ReassemblyOptions::default(),
            log,
        )
    }

    fn records(events: Vec<SourceEvent>) -> Vec<Record> {
        events
            .into_iter()
            .map(|e| match e {
                SourceEvent::Record { record, .. } => record,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn expected(frames: &[u8]) -> Vec<Record> {
        let data = Bytes::copy_from_slice(frames);
        let mut scanner = FrameScanner::for_message();
        let mut out = Vec::new();
        while let Some(StreamEvent::Record { record, .. }) = scanner.next_event(&data, 0).unwrap() {
            out.push(record);
        }
        out
    }

    #[test]
    fn messages_in_order_give_the_records_and_the_same_log() {
        let dir = tempfile::tempdir().unwrap();
        let frames = session_frames(7, 20, 200);
        let mut p = pipeline(Some(LogFileWriter::open(&dir.path().join("view.log")).unwrap()));
        let now = Instant::now();
        let mut got = Vec::new();
        // Small messages, with large frames cut into fragments.
        for message in pack_messages(&frames, 1000).unwrap() {
            got.extend(records(p.push_message(&message, now)));
        }
        assert_eq!(got, expected(&frames));
        assert!(p.stats().joined > 0);
        let log = std::fs::read(dir.path().join("view.log")).unwrap();
        assert_eq!(&log[FILE_HEADER_LEN..], &frames[..]);
    }

    #[test]
    fn duplicates_and_reordering_do_not_show() {
        let dir = tempfile::tempdir().unwrap();
        let frames = session_frames(9, 30, 150);
        let messages = pack_messages(&frames, 900).unwrap();
        assert!(messages.len() > 10);
        // Deliver every message twice, in a shuffled order.
        let mut order: Vec<usize> = (0..messages.len()).chain(0..messages.len()).collect();
        let mut rng = fastrand::Rng::with_seed(3);
        rng.shuffle(&mut order);
        let mut p = pipeline(Some(LogFileWriter::open(&dir.path().join("view.log")).unwrap()));
        let now = Instant::now();
        let mut got = Vec::new();
        for i in order {
            got.extend(records(p.push_message(&messages[i], now)));
        }
        got.extend(records(p.tick(now + Duration::from_secs(2))));
        assert_eq!(got, expected(&frames));
        assert!(p.stats().duplicates > 0);
        assert_eq!(p.stats().lost, 0);
        let log = std::fs::read(dir.path().join("view.log")).unwrap();
        assert_eq!(&log[FILE_HEADER_LEN..], &frames[..]);
    }

    #[test]
    fn a_lost_message_is_skipped_after_the_gap_timeout() {
        let frames = session_frames(5, 10, 4);
        let messages = pack_messages(&frames, 200).unwrap();
        let mut p = pipeline(None);
        let t0 = Instant::now();
        let mut got = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            if i != 2 {
                got.extend(records(p.push_message(message, t0)));
            }
        }
        let all = expected(&frames);
        let before_gap = expected(&[messages[0].as_ref(), messages[1].as_ref()].concat()).len();
        assert_eq!(got.len(), before_gap);
        got.extend(records(p.tick(t0 + Duration::from_secs(11))));
        let lost = expected(&messages[2]).len();
        assert_eq!(got.len(), all.len() - lost);
        assert_eq!(p.stats().lost, lost as u64);
        // Offsets are those of the released frames in a fresh log.
        let mut p = pipeline(None);
        let events = p.push_message(&Bytes::copy_from_slice(&frames), t0);
        let SourceEvent::Record { offset, .. } = &events[1] else {
            panic!()
        };
        assert_eq!(
            *offset as usize,
            FILE_HEADER_LEN + split_frames(&frames).unwrap()[0].len()
        );
    }

    #[test]
    fn a_30_mb_record_in_shuffled_duplicated_fragments_joins_whole() {
        // A layout, then one scatter of 3.75e6 points: 30 MB of float32.
        let frames = session_frames(11, 1, 3_750_000);
        assert!(frames.len() > 30_000_000);
        let want = expected(&frames);
        // Pieces as large as messages take, and small ones for more orders.
        for max_bytes in [crate::format::MESSAGE_MAX_BYTES, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let messages = pack_messages(&frames, max_bytes).unwrap();
            let mut rng = fastrand::Rng::with_seed(max_bytes as u64);
            // Every message two or three times, all shuffled.
            let mut order: Vec<usize> = (0..messages.len())
                .flat_map(|i| std::iter::repeat_n(i, 2 + rng.usize(..2)))
                .collect();
            rng.shuffle(&mut order);
            let mut p = pipeline(Some(LogFileWriter::open(&dir.path().join("view.log")).unwrap()));
            let now = Instant::now();
            let mut got = Vec::new();
            for &i in &order {
                got.extend(records(p.push_message(&messages[i], now)));
            }
            assert_eq!(got.len(), 2, "{max_bytes}: the layout and the cloud, once each");
            assert!(
                got == want,
                "{max_bytes}: the joined record differs from the one logged"
            );
            let stats = p.stats();
            assert_eq!((stats.joined, stats.lost, stats.corrupt), (1, 0, 0), "{stats:?}");
            assert_eq!(p.reassembler.pending(), 0, "nothing of the record is held after");
            let log = std::fs::read(dir.path().join("view.log")).unwrap();
            assert!(
                log[FILE_HEADER_LEN..] == frames[..],
                "{max_bytes}: the local log is the logger's"
            );
        }
    }

    /// Re-stamps a frame's kind (as a newer logger might write), keeping
    /// its checksums valid.
    fn with_kind(frame: &[u8], kind: u16) -> Vec<u8> {
        let mut frame = frame.to_vec();
        let header = FrameHeader::read(frame.first_chunk().unwrap()).unwrap();
        frame[..FRAME_HEADER_LEN].copy_from_slice(&FrameHeader { kind, ..header }.write());
        frame
    }

    #[test]
    fn frames_of_unknown_kinds_keep_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let frames = session_frames(3, 3, 4);
        let split = split_frames(&frames).unwrap();
        let mut patched: Vec<Vec<u8>> = split.iter().map(|f| f.to_vec()).collect();
        patched[2] = with_kind(&patched[2], 99);
        let data = patched.concat();
        let mut p = pipeline(Some(LogFileWriter::open(&dir.path().join("view.log")).unwrap()));
        let now = Instant::now();
        // Record 2 (unknown kind) arrives first, then the rest: it is held
        // and released in its place, as a warning.
        let mut events = p.push_message(&Bytes::from(patched[2].clone()), now);
        assert!(events.is_empty());
        events.extend(p.push_message(&Bytes::from(data.clone()), now));
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                SourceEvent::Record { .. } => "record",
                SourceEvent::Corrupt {
                    error: FrameError::UnknownKind { kind: 99 },
                    ..
                } => "unknown",
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["record", "record", "unknown", "record"]);
        assert_eq!(p.stats().duplicates, 1);
        // The local log is a copy of what the logger wrote, unknown kind included.
        let log = std::fs::read(dir.path().join("view.log")).unwrap();
        assert_eq!(&log[FILE_HEADER_LEN..], &data[..]);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut p = pipeline(None);
        let now = Instant::now();
        let mut rng = fastrand::Rng::with_seed(1);
        let frames = session_frames(1, 3, 50);
        for message in pack_messages(&frames, 300).unwrap() {
            let mut bytes = message.to_vec();
            for _ in 0..3 {
                let i = rng.usize(..bytes.len());
                bytes[i] ^= 0x5a;
            }
            p.push_message(&Bytes::from(bytes), now);
            p.push_message(&Bytes::from(vec![7u8; rng.usize(..100)]), now);
        }
        p.tick(now + Duration::from_secs(3600));
        p.finish(now);
        assert!(p.stats().corrupt > 0);
    }
}
