//! Joining Fragment records back into the frame they were cut from.
//!
//! A frame larger than one Pub/Sub message travels as Fragment records, one
//! per message, each carrying the original record's session and sequence
//! number, its piece's index, the piece count, the frame's total length and
//! the piece's offset in it. Pieces are kept (as slices of their messages,
//! not copied) per `(session, sequence)` until all have arrived; then they
//! are copied once into the whole frame, which the caller decodes like any
//! other. Nothing of a half-joined frame is ever exposed.
//!
//! Every piece is checked against the set it joins (same count and total
//! length, within bounds, no overlap); a piece that does not fit is refused
//! with a [`FragmentError`]. Duplicate pieces are ignored. A set that stops
//! receiving pieces is dropped by [`Reassembler::expire`] after a timeout,
//! and the bytes held for incomplete sets are bounded (the oldest set goes
//! first).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::format::{FRAME_HEADER_LEN, Fragment, MAX_BODY_BYTES};

/// A fragment that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    #[error("fragment {index} of {count}: index out of range")]
    BadIndex { index: u32, count: u32 },

    #[error("fragment of a {total_len}-byte frame: larger than any frame ({max_bytes} bytes at most)")]
    TooLarge { total_len: u64, max_bytes: u64 },

    #[error("fragment {index} covers bytes {offset}..{offset}+{len_bytes}, outside the {total_len}-byte frame")]
    OutOfBounds {
        index: u32,
        offset: u64,
        len_bytes: u64,
        total_len: u64,
    },

    #[error(
        "fragment {index} says the frame has {count} pieces and {total_len} bytes; \
         earlier pieces said {expected_count} and {expected_total_len}"
    )]
    Inconsistent {
        index: u32,
        count: u32,
        total_len: u64,
        expected_count: u32,
        expected_total_len: u64,
    },

    #[error("fragment {index} overlaps another piece or leaves a hole in the frame")]
    Overlap { index: u32 },
}

/// Tuning for a [`Reassembler`].
#[derive(Clone, Debug)]
pub struct ReassemblyOptions {
    /// An incomplete set that received no piece for this long is dropped.
    pub timeout: Duration,
    /// The most bytes held in incomplete sets; past it the oldest set goes.
    pub max_held_bytes: usize,
}

impl Default for ReassemblyOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_held_bytes: 1 << 30,
        }
    }
}

/// An incomplete set dropped by [`Reassembler::expire`] or the memory bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abandoned {
    pub session_id: u64,
    pub seq: u64,
    pub pieces: u32,
    pub count: u32,
    pub received_bytes: u64,
    pub total_len: u64,
}

#[derive(Debug)]
struct Partial {
    count: u32,
    total_len: u64,
    /// index -> (offset, bytes)
    pieces: BTreeMap<u32, (u64, Bytes)>,
    received_bytes: u64,
    first_seen: Instant,
    last_progress: Instant,
}

/// Joins fragments per `(session, sequence)`; see the [module docs](self).
#[derive(Debug)]
pub struct Reassembler {
    sets: HashMap<(u64, u64), Partial>,
    options: ReassemblyOptions,
    held_bytes: usize,
}

impl Reassembler {
    pub fn new(options: ReassemblyOptions) -> Self {
        Self {
            sets: HashMap::new(),
            options,
            held_bytes: 0,
        }
    }

    /// Sets not yet complete.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.sets.len()
    }

    /// Whether the frame `(session_id, seq)` received a piece within
    /// `window` of `now`: still arriving.
    pub fn progressing(&self, session_id: u64, seq: u64, now: Instant, window: Duration) -> bool {
        self.sets
            .get(&(session_id, seq))
            .is_some_and(|set| now.saturating_duration_since(set.last_progress) < window)
    }

    /// Takes one piece; returns the whole frame once the last piece is in.
    /// Sets dropped to stay within the memory bound go to `abandoned`.
    pub fn push(
        &mut self,
        session_id: u64,
        seq: u64,
        fragment: &Fragment,
        now: Instant,
        abandoned: &mut Vec<Abandoned>,
    ) -> Result<Option<Bytes>, FragmentError> {
        let Fragment {
            index,
            count,
            total_len,
            offset,
            ref bytes,
        } = *fragment;
        let max_bytes = MAX_BODY_BYTES + FRAME_HEADER_LEN as u64;
        if total_len > max_bytes {
            return Err(FragmentError::TooLarge { total_len, max_bytes });
        }
        if index >= count {
            return Err(FragmentError::BadIndex { index, count });
        }
        let len_bytes = bytes.len() as u64;
        if offset.checked_add(len_bytes).is_none_or(|end| end > total_len) {
            return Err(FragmentError::OutOfBounds {
                index,
                offset,
                len_bytes,
                total_len,
            });
        }
        let key = (session_id, seq);
        let set = self.sets.entry(key).or_insert_with(|| Partial {
            count,
            total_len,
            pieces: BTreeMap::new(),
            received_bytes: 0,
            first_seen: now,
            last_progress: now,
        });
        if (set.count, set.total_len) != (count, total_len) {
            return Err(FragmentError::Inconsistent {
                index,
                count,
                total_len,
                expected_count: set.count,
                expected_total_len: set.total_len,
            });
        }
        if let Some((held_offset, held)) = set.pieces.get(&index) {
            if (*held_offset, held.len() as u64) == (offset, len_bytes) {
                return Ok(None);
            }
            return Err(FragmentError::Overlap { index });
        }
        // Neighbours by index must lie before and after this piece.
        let before_ok = set
            .pieces
            .range(..index)
            .next_back()
            .is_none_or(|(_, (o, b))| o + b.len() as u64 <= offset);
        let after_ok = set
            .pieces
            .range(index + 1..)
            .next()
            .is_none_or(|(_, (o, _))| offset + len_bytes <= *o);
        if !before_ok || !after_ok {
            return Err(FragmentError::Overlap { index });
        }
        set.pieces.insert(index, (offset, bytes.clone()));
        set.received_bytes += len_bytes;
        set.last_progress = now;
        self.held_bytes += bytes.len();

        if set.pieces.len() as u32 == count {
            let Some(set) = self.sets.remove(&key) else {
                return Ok(None);
            };
            self.held_bytes -= set.received_bytes as usize;
            if set.received_bytes != set.total_len {
                return Err(FragmentError::Overlap { index });
            }
            return Ok(Some(join(&set)));
        }
        self.enforce_bound(key, abandoned);
        Ok(None)
    }

    /// Drops the oldest sets (other than `keep`) while over the bound.
    fn enforce_bound(&mut self, keep: (u64, u64), abandoned: &mut Vec<Abandoned>) {
        while self.held_bytes > self.options.max_held_bytes {
            let oldest = self
                .sets
                .iter()
                .filter(|(key, _)| **key != keep)
                .min_by_key(|(_, set)| set.first_seen)
                .map(|(key, _)| *key);
            let Some(key) = oldest else {
                break;
            };
            if let Some(dropped) = self.remove(key) {
                abandoned.push(dropped);
            }
        }
    }

    fn remove(&mut self, key: (u64, u64)) -> Option<Abandoned> {
        let set = self.sets.remove(&key)?;
        self.held_bytes -= set.received_bytes as usize;
        Some(Abandoned {
            session_id: key.0,
            seq: key.1,
            pieces: set.pieces.len() as u32,
            count: set.count,
            received_bytes: set.received_bytes,
            total_len: set.total_len,
        })
    }

    /// Drops the sets that received no piece for the timeout.
    pub fn expire(&mut self, now: Instant) -> Vec<Abandoned> {
        let timeout = self.options.timeout;
        let mut stale: Vec<(u64, u64)> = self
            .sets
            .iter()
            .filter(|(_, set)| now.saturating_duration_since(set.last_progress) >= timeout)
            .map(|(key, _)| *key)
            .collect();
        stale.sort_unstable();
        stale.into_iter().filter_map(|key| self.remove(key)).collect()
    }

    /// Drops every incomplete set: the source is closing.
    pub fn drain(&mut self) -> Vec<Abandoned> {
        let mut keys: Vec<(u64, u64)> = self.sets.keys().copied().collect();
        keys.sort_unstable();
        keys.into_iter().filter_map(|key| self.remove(key)).collect()
    }
}

/// Copies the pieces, in order, into one buffer.
fn join(set: &Partial) -> Bytes {
    let mut frame = Vec::with_capacity(set.total_len as usize);
    for (_, bytes) in set.pieces.values() {
        frame.extend_from_slice(bytes);
    }
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(frame: &[u8], piece: usize) -> Vec<Fragment> {
        let count = frame.len().div_ceil(piece) as u32;
        (0..count)
            .map(|index| {
                let offset = index as usize * piece;
                Fragment {
                    index,
                    count,
                    total_len: frame.len() as u64,
                    offset: offset as u64,
                    bytes: Bytes::copy_from_slice(&frame[offset..(offset + piece).min(frame.len())]),
                }
            })
            .collect()
    }

    fn reassembler() -> Reassembler {
        Reassembler::new(ReassemblyOptions {
            timeout: Duration::from_secs(60),
            max_held_bytes: 1000,
        })
    }

    #[test]
    fn pieces_in_any_order_join_into_the_frame() {
        let frame: Vec<u8> = (0..100u8).collect();
        let mut parts = pieces(&frame, 16);
        parts.reverse();
        parts.swap(1, 4);
        let mut r = reassembler();
        let now = Instant::now();
        let mut abandoned = Vec::new();
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            let joined = r.push(1, 2, part, now, &mut abandoned).unwrap();
            assert_eq!(joined.is_some(), i == last, "piece {i}");
            // Duplicates hold nothing more: at most the frame's bytes are held.
            assert!(r.held_bytes <= frame.len());
            if let Some(joined) = joined {
                assert_eq!(&joined[..], &frame[..]);
            }
            // A duplicate piece changes nothing.
            if i != last {
                assert_eq!(r.push(1, 2, part, now, &mut abandoned).unwrap(), None);
            }
        }
        assert_eq!(r.pending(), 0);
        assert_eq!(r.held_bytes, 0);
    }

    #[test]
    fn a_record_fragmented_by_the_format_joins_in_shuffled_order() {
        use crate::format::{DataCall, FrameScanner, RecordBody, RecordMeta, StreamEvent, TensorView};
        let values: Vec<f32> = (0..3000).map(|i| i as f32 * 0.5).collect();
        let meta = RecordMeta {
            session_id: 9,
            seq: 4,
            wall_time_ns: 1,
            run_name: "run".into(),
        };
        let body = RecordBody::Scatter(DataCall {
            plot: "cloud".into(),
            spatial_dim: 1,
            append: false,
            color: None,
            grid: None,
            line_dims: vec![],
            data: TensorView::new(&[1500, 2], &values),
        });
        let mut frame = Vec::new();
        crate::format::encode_record(&meta, &body, &mut frame);
        let mut messages = crate::format::encode_fragments(&frame, 1000).unwrap();
        assert!(messages.len() > 10);
        fastrand::Rng::with_seed(5).shuffle(&mut messages);

        let mut r = Reassembler::new(ReassemblyOptions::default());
        let now = Instant::now();
        let mut joined = None;
        for (i, message) in messages.iter().enumerate() {
            let Ok(Some(StreamEvent::Record { record, .. })) = FrameScanner::for_message().next_event(message, 0)
            else {
                panic!("message {i} is not one valid record");
            };
            let RecordBody::Fragment(fragment) = &record.body else {
                panic!("message {i} is not a fragment");
            };
            assert_eq!((record.meta.session_id, record.meta.seq), (9, 4));
            let out = r.push(9, 4, fragment, now, &mut Vec::new()).unwrap();
            assert_eq!(out.is_some(), i == messages.len() - 1, "piece {i}");
            joined = joined.or(out);
        }
        assert_eq!(joined.as_deref(), Some(&frame[..]));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn sets_are_kept_apart_by_session_and_sequence() {
        let a: Vec<u8> = vec![1; 40];
        let b: Vec<u8> = vec![2; 40];
        let (pa, pb) = (pieces(&a, 16), pieces(&b, 16));
        let mut r = reassembler();
        let now = Instant::now();
        let mut abandoned = Vec::new();
        for (x, y) in pa.iter().zip(&pb) {
            let ja = r.push(1, 5, x, now, &mut abandoned).unwrap();
            let jb = r.push(2, 5, y, now, &mut abandoned).unwrap();
            if let (Some(ja), Some(jb)) = (ja, jb) {
                assert_eq!((&ja[..], &jb[..]), (&a[..], &b[..]));
            }
        }
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn bad_pieces_are_refused() {
        let frame = vec![0u8; 64];
        let parts = pieces(&frame, 16);
        let mut r = reassembler();
        let now = Instant::now();
        let mut ab = Vec::new();
        let mut bad = parts[0].clone();
        bad.index = 9;
        assert!(matches!(
            r.push(1, 1, &bad, now, &mut ab),
            Err(FragmentError::BadIndex { .. })
        ));
        let mut bad = parts[1].clone();
        bad.offset = 60;
        assert!(matches!(
            r.push(1, 1, &bad, now, &mut ab),
            Err(FragmentError::OutOfBounds { .. })
        ));
        let mut bad = parts[1].clone();
        bad.total_len = u64::MAX;
        assert!(matches!(
            r.push(1, 1, &bad, now, &mut ab),
            Err(FragmentError::TooLarge { .. })
        ));
        r.push(1, 1, &parts[0], now, &mut ab).unwrap();
        let mut bad = parts[1].clone();
        bad.count = 5;
        assert!(matches!(
            r.push(1, 1, &bad, now, &mut ab),
            Err(FragmentError::Inconsistent { .. })
        ));
        let mut bad = parts[1].clone();
        bad.offset = 8;
        assert!(matches!(
            r.push(1, 1, &bad, now, &mut ab),
            Err(FragmentError::Overlap { .. })
        ));
        // Pieces that fit but leave a hole are caught when the set completes.
        let mut short = parts.clone();
        short[3].bytes = short[3].bytes.slice(..8);
        short[3].total_len = 64;
        let mut r = reassembler();
        for part in &short[..3] {
            r.push(1, 1, part, now, &mut ab).unwrap();
        }
        assert!(r.push(1, 1, &short[3], now, &mut ab).is_err());
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn stale_sets_are_dropped() {
        let parts = pieces(&[7u8; 64], 16);
        let mut r = reassembler();
        let t0 = Instant::now();
        let mut ab = Vec::new();
        r.push(1, 1, &parts[0], t0, &mut ab).unwrap();
        r.push(1, 1, &parts[1], t0 + Duration::from_secs(30), &mut ab).unwrap();
        assert!(r.progressing(1, 1, t0 + Duration::from_secs(35), Duration::from_secs(10)));
        assert!(!r.progressing(1, 1, t0 + Duration::from_secs(45), Duration::from_secs(10)));
        assert!(r.expire(t0 + Duration::from_secs(80)).is_empty());
        let dropped = r.expire(t0 + Duration::from_secs(90));
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            (dropped[0].pieces, dropped[0].count, dropped[0].received_bytes),
            (2, 4, 32)
        );
        assert_eq!(r.held_bytes, 0);
    }

    #[test]
    fn the_oldest_set_goes_when_too_much_is_held() {
        let big = pieces(&[1u8; 2000], 600);
        let small = pieces(&[2u8; 100], 60);
        let mut r = reassembler();
        let t0 = Instant::now();
        let mut ab = Vec::new();
        r.push(1, 1, &small[0], t0, &mut ab).unwrap();
        r.push(1, 2, &big[0], t0 + Duration::from_secs(1), &mut ab).unwrap();
        assert!(ab.is_empty());
        r.push(1, 2, &big[1], t0 + Duration::from_secs(2), &mut ab).unwrap();
        assert_eq!(ab.len(), 1);
        assert_eq!((ab[0].session_id, ab[0].seq), (1, 1));
        assert_eq!(r.drain().len(), 1);
    }
}
