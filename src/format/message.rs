//! Packing frames into Pub/Sub messages: whole frames batched up to
//! [`MESSAGE_MAX_BYTES`](super::MESSAGE_MAX_BYTES), and a frame too large for one message cut into
//! Fragment records, which the viewer's Pub/Sub source joins back. Byte for
//! byte what the Python logger's `pack_messages` and `encode_fragments`
//! produce.

use bytes::Bytes;

use super::encode::encode_record;
use super::errors::PackError;
use super::frame::FrameHeader;
use super::record::{Fragment, RecordBody, TensorView};
use super::{ALIGN, FRAME_HEADER_LEN, align_up, read_prefix};

/// The fixed fields of a Fragment body after the prefix, padded to 8: u32
/// index, u32 count, u64 total length, u64 offset, u64 piece length.
const FRAGMENT_FIELDS_LEN: usize = 32;

/// Cuts a buffer of whole frames (as a logger's sink receives them) into
/// one slice per frame. Headers are checked (marker, checksum, length);
/// bodies are not.
pub fn split_frames(mut data: &[u8]) -> Result<Vec<&[u8]>, PackError> {
    let mut frames = Vec::new();
    let mut offset = 0;
    while !data.is_empty() {
        let cut_short = |need: u64| PackError::CutShort {
            offset,
            need,
            available: data.len(),
        };
        let header = data
            .first_chunk::<FRAME_HEADER_LEN>()
            .ok_or_else(|| cut_short(FRAME_HEADER_LEN as u64))?;
        let header = FrameHeader::read(header).map_err(|source| PackError::BadFrame { offset, source })?;
        let frame_len = usize::try_from(header.frame_len())
            .ok()
            .filter(|&n| n <= data.len())
            .ok_or_else(|| cut_short(header.frame_len()))?;
        let (frame, rest) = data.split_at(frame_len);
        frames.push(frame);
        data = rest;
        offset += frame_len;
    }
    Ok(frames)
}

/// Groups whole frames into messages of at most `max_bytes`, in order; a
/// frame larger than that becomes Fragment frames, one per message.
pub fn pack_messages(data: &[u8], max_bytes: usize) -> Result<Vec<Bytes>, PackError> {
    let mut messages = Vec::new();
    let mut batch: Vec<u8> = Vec::new();
    for frame in split_frames(data)? {
        if !batch.is_empty() && batch.len() + frame.len() > max_bytes {
            messages.push(Bytes::from(std::mem::take(&mut batch)));
        }
        if frame.len() > max_bytes {
            messages.extend(encode_fragments(frame, max_bytes)?);
            continue;
        }
        batch.extend_from_slice(frame);
    }
    if !batch.is_empty() {
        messages.push(Bytes::from(batch));
    }
    Ok(messages)
}

/// Bytes a Fragment frame takes besides its piece, for a record whose body
/// prefix takes `prefix_len` bytes.
fn fragment_overhead(prefix_len: usize) -> usize {
    FRAME_HEADER_LEN + align_up(prefix_len) + FRAGMENT_FIELDS_LEN
}

/// Splits one frame into Fragment frames of at most `max_bytes` each, each
/// carrying the frame's session, sequence number, wall time and run name.
/// Pieces are the largest multiple of 8 that fits; the last takes the rest.
pub fn encode_fragments(frame: &[u8], max_bytes: usize) -> Result<Vec<Bytes>, PackError> {
    let body = frame.get(FRAME_HEADER_LEN..).unwrap_or_default();
    let prefix = read_prefix(body).map_err(PackError::BadPrefix)?;
    let overhead_bytes = fragment_overhead(prefix.len_bytes);
    let piece_len = max_bytes.saturating_sub(overhead_bytes) / ALIGN * ALIGN;
    if piece_len == 0 {
        return Err(PackError::NoRoomForPiece {
            max_bytes,
            overhead_bytes,
        });
    }
    let total = frame.len();
    let count = u32::try_from(total.div_ceil(piece_len)).map_err(|_| PackError::TooManyFragments {
        frame_len: total,
        piece_len,
    })?;
    let frame = Bytes::copy_from_slice(frame);
    let mut fragments = Vec::with_capacity(count as usize);
    for index in 0..count {
        let offset = index as usize * piece_len;
        let piece = frame.slice(offset..(offset + piece_len).min(total));
        let body = RecordBody::<TensorView>::Fragment(Fragment {
            index,
            count,
            total_len: total as u64,
            offset: offset as u64,
            bytes: piece,
        });
        let mut out = Vec::with_capacity(max_bytes.min(overhead_bytes + piece_len));
        encode_record(&prefix.meta, &body, &mut out);
        fragments.push(Bytes::from(out));
    }
    Ok(fragments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{DataCall, FrameError, FrameScanner, Record, RecordMeta, StreamEvent};

    /// `count` scatter frames of session 7, each of `values` floats.
    fn frames(count: u64, values: usize) -> Vec<u8> {
        let data: Vec<f32> = (0..values).map(|i| i as f32).collect();
        let shape = [values / 2, 2];
        let mut out = Vec::new();
        for seq in 0..count {
            let meta = RecordMeta {
                session_id: 7,
                seq,
                wall_time_ns: 11,
                run_name: "run".into(),
            };
            let body = RecordBody::Scatter(DataCall {
                plot: "p".into(),
                spatial_dim: 1,
                append: false,
                color: None,
                grid: None,
                line_dims: vec![],
                data: TensorView::new(&shape, &data),
            });
            encode_record(&meta, &body, &mut out);
        }
        out
    }

    /// Every record of a message, which must be whole valid frames.
    fn records(message: &Bytes) -> Vec<Record> {
        let mut scanner = FrameScanner::for_message();
        let mut out = Vec::new();
        while let Some(event) = scanner.next_event(message, 0).unwrap() {
            match event {
                StreamEvent::Record { record, .. } => out.push(record),
                StreamEvent::Corrupt { error, .. } => panic!("{error}"),
            }
        }
        assert_eq!(scanner.position(), message.len() as u64);
        out
    }

    fn fragment(message: &Bytes) -> (RecordMeta, Fragment) {
        let mut records = records(message);
        assert_eq!(records.len(), 1, "one fragment per message");
        let record = records.remove(0);
        let RecordBody::Fragment(fragment) = record.body else {
            panic!("not a fragment: {:?}", record.body.kind())
        };
        (record.meta, fragment)
    }

    #[test]
    fn split_frames_finds_each_frame() {
        let data = frames(3, 16);
        let split = split_frames(&data).unwrap();
        assert_eq!(split.len(), 3);
        assert_eq!(split.concat(), data);
        assert!(split.iter().all(|f| f.len() == data.len() / 3));
        assert_eq!(split_frames(&[]).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn small_frames_share_messages() {
        let data = frames(10, 16);
        let one = split_frames(&data).unwrap()[0].len();
        let messages = pack_messages(&data, one * 3 + 7).unwrap();
        assert_eq!(messages.len(), 4);
        let seqs: Vec<u64> = messages.iter().flat_map(records).map(|r| r.meta.seq).collect();
        assert_eq!(seqs, (0..10).collect::<Vec<_>>());
        assert!(messages.iter().all(|m| m.len() <= one * 3 + 7));
        assert_eq!(messages.concat(), data, "whole frames travel unchanged");
    }

    #[test]
    fn large_frames_become_fragments() {
        let data = frames(2, 1000);
        let frame = split_frames(&data).unwrap()[0];
        let max = 1024;
        let messages = pack_messages(&data, max).unwrap();
        let mut joined = [Vec::new(), Vec::new()];
        for message in &messages {
            assert!(message.len() <= max);
            let (meta, fragment) = fragment(message);
            assert_eq!(
                (meta.session_id, meta.wall_time_ns, meta.run_name.as_str()),
                (7, 11, "run")
            );
            assert_eq!(fragment.offset as usize, joined[meta.seq as usize].len());
            assert_eq!(fragment.bytes.len() % 8, 0);
            joined[meta.seq as usize].extend_from_slice(&fragment.bytes);
        }
        assert_eq!(joined[0], frame);
        // Pieces are the largest multiple of 8 that fits.
        let overhead = fragment_overhead(32);
        assert_eq!(overhead, 24 + 32 + 32);
        assert_eq!(messages[0].len(), overhead + (max - overhead) / 8 * 8);
    }

    #[test]
    fn a_fragmented_record_joins_back_in_any_order() {
        let data = frames(1, 5000);
        let max = 2000;
        let mut messages = encode_fragments(&data, max).unwrap();
        let count = messages.len();
        assert!(count > 5, "{count} fragments");
        fastrand::Rng::with_seed(42).shuffle(&mut messages);

        let mut joined = vec![0u8; data.len()];
        let mut seen = vec![false; count];
        for message in &messages {
            assert!(message.len() <= max);
            let (meta, fragment) = fragment(message);
            assert_eq!((meta.session_id, meta.seq), (7, 0));
            assert_eq!(fragment.count as usize, count);
            assert_eq!(fragment.total_len as usize, data.len());
            assert!(!std::mem::replace(&mut seen[fragment.index as usize], true));
            let at = fragment.offset as usize;
            joined[at..at + fragment.bytes.len()].copy_from_slice(&fragment.bytes);
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(joined, data);
        // The joined frame decodes as the original record.
        assert_eq!(records(&Bytes::from(joined)), records(&Bytes::from(data)));
    }

    #[test]
    fn bad_buffers_are_errors() {
        assert_eq!(
            split_frames(&[0u8; 10]),
            Err(PackError::CutShort {
                offset: 0,
                need: 24,
                available: 10
            })
        );
        assert!(matches!(
            split_frames(&[0u8; 32]),
            Err(PackError::BadFrame {
                offset: 0,
                source: FrameError::BadMarker { .. }
            })
        ));
        let mut data = frames(2, 4);
        let one = data.len() / 2;
        data.truncate(data.len() - 8);
        assert_eq!(
            pack_messages(&data, 1 << 20),
            Err(PackError::CutShort {
                offset: one,
                need: one as u64,
                available: one - 8
            })
        );
        assert_eq!(
            encode_fragments(&frames(1, 4), 40),
            Err(PackError::NoRoomForPiece {
                max_bytes: 40,
                overhead_bytes: 88
            })
        );
        assert!(matches!(
            encode_fragments(&[0u8; 30], 1 << 20),
            Err(PackError::BadPrefix(_))
        ));
    }
}
