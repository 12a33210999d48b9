//! The log record format: one encoding for the append-only log file and for a
//! batch of records carried in one Pub/Sub message.
//!
//! This module is the format's specification, and the only code that reads
//! or writes a frame's bytes. It does no I/O: [`encode_record`] appends one
//! framed record to a `Vec<u8>`, [`FrameScanner`] finds frames in a byte
//! stream (a memory-mapped file or a message), and [`decode_body`] turns a
//! frame's body into a [`Record`] whose tensors borrow the stream's bytes.
//! [`FrameHeader`] reads and writes the 24-byte frame header, and
//! [`read_prefix`] a body's common prefix (session, sequence, wall time,
//! run name) without decoding the rest. [`pack_messages`] batches frames
//! into Pub/Sub messages and [`encode_fragments`] cuts a frame too large for
//! one into Fragment records.
//!
//! # Conventions
//!
//! * All integers and floats are **little-endian**.
//! * Every frame starts at an offset that is a multiple of [`ALIGN`] (8) from
//!   the start of the stream, and every frame's length is a multiple of 8. A
//!   tensor's bytes start at a multiple of 8 within its frame, so a reader can
//!   view them as `&[f32]` directly in a page-aligned memory map or in an
//!   8-aligned message buffer, without copying.
//! * Offsets below are in bytes; "pad8" means zero bytes up to the next
//!   multiple of 8 from the start of the body, "pad4" likewise for 4.
//!
//! # File header (files only, 16 bytes)
//!
//! | offset | size | field                                           |
//! |-------:|-----:|-------------------------------------------------|
//! | 0      | 8    | magic `b"SVGPULOG"`                             |
//! | 8      | 2    | major version (u16), currently 1                |
//! | 10     | 2    | minor version (u16), currently 1                |
//! | 12     | 4    | reserved, zero                                  |
//!
//! A message carries no file header: it is a sequence of frames from offset 0.
//!
//! # Frame (24-byte header + body)
//!
//! | offset | size     | field                                               |
//! |-------:|---------:|-----------------------------------------------------|
//! | 0      | 4        | marker `b"SVRC"`                                    |
//! | 4      | 2        | record kind (u16), see [`RecordKind`]               |
//! | 6      | 2        | flags (u16), zero                                   |
//! | 8      | 8        | body length in bytes (u64), a multiple of 8         |
//! | 16     | 4        | CRC32C of the body                                  |
//! | 20     | 4        | CRC32C of header bytes 0..20                        |
//! | 24     | body len | body, zero-padded to a multiple of 8                |
//!
//! The header has its own checksum so a reader can tell a record that is
//! still being written (valid header, body not all there yet) from a damaged
//! length field (header checksum fails).
//!
//! # Bodies
//!
//! Every body starts with the same prefix:
//!
//! | field          | encoding                                               |
//! |----------------|--------------------------------------------------------|
//! | session id     | u64: random per logger instance                        |
//! | sequence       | u64: 0, 1, 2, ... per session, one per record           |
//! | wall time      | i64: nanoseconds since the Unix epoch                  |
//! | run name       | str                                                    |
//!
//! where `str` is a u32 byte length, UTF-8 bytes, pad4. The session id and
//! sequence number let a reader drop duplicate deliveries and restore each
//! session's order (Pub/Sub delivers at least once, in any order).
//!
//! Then, by kind:
//!
//! * **Layout** (1): u32 plot count, then per plot: str name, u32 top,
//!   u32 left, u32 height, u32 width (the grid_map cell).
//! * **Clear** (2): nothing more.
//! * **Scatter** (3) and **MultiLines** (4): str plot name, u32 spatial dim,
//!   u32 append (0 or 1), colour, grid, u32 line-dim count, u32 per line dim
//!   (scatter: count 0), tensor. Colour is u32 tag: 0 none; 1 by value (str
//!   palette); 2 by dim (str palette, u32 dim). Grid is u32 tag: 0 none;
//!   1 (u32 dim, u32 number of columns, f32 padding factor).
//! * **TandemLines** (5): str plot name, u32 has-palette (0 or 1), str palette
//!   if 1, pad8, f64 x, tensor ys (rank 1).
//! * **Step** (6): pad8, u64 step number.
//! * **Fragment** (7): pad8, u32 index, u32 count, u64 total length of the
//!   fragmented frame, u64 offset of this piece in it, u64 piece length, the
//!   piece's bytes, pad8. The prefix carries the fragmented record's session
//!   and sequence number.
//! * **LineNames** (8, since 1.1): str plot name, u32 name count, str per
//!   name. Names the lines of a line plot in line order (tandem: the order
//!   of `ys`; multi lines: row-major over the line dims), from the plot's
//!   next lines call on, until other names come or a clear. A logger writes
//!   it right before a lines call whose names differ from the last it
//!   wrote for that plot.
//!
//! # Messages
//!
//! A Pub/Sub message holds whole frames, at most [`MESSAGE_MAX_BYTES`] in
//! all. A frame larger than that travels as Fragment records, one per
//! message, which the receiver joins back into the original frame before
//! decoding it; files never hold fragments.
//!
//! A tensor is: pad8, u32 dtype (1 = f32), u32 rank (at most [`MAX_RANK`]),
//! u64 per dimension, u64 byte length (product of the dims times 4), the
//! bytes exactly as the caller gave them (row-major), pad8.
//!
//! # What a reader does
//!
//! * **Torn tail.** Fewer than 24 bytes after the last whole frame, or a valid
//!   header whose body is not all there: the writer is mid-write (or crashed).
//!   A live reader waits for more bytes; a reader that stops at the current end
//!   reports nothing for it.
//! * **Corrupt frame.** A wrong marker, a header checksum mismatch, an
//!   impossible length (not a multiple of 8, or over [`MAX_BODY_BYTES`]), a
//!   body checksum mismatch, or a valid header found inside a pending body
//!   (the record was cut short by a crash and later writes followed): the
//!   reader warns once, naming the frame's byte offset, and scans forward in
//!   steps of 8 bytes for the next valid frame header. Only the damaged
//!   records are lost.
//! * **Unknown kind** in a frame whose checksums hold: skipped whole with a
//!   warning (a newer minor version may add kinds).
//! * **Bad body** (checksums hold but the fields do not parse): skipped whole
//!   with a warning.
//!
//! # Version policy
//!
//! The major version changes when an existing encoding changes; a reader
//! refuses a file whose major version differs from its own. The minor version
//! changes when record kinds are added; an older reader skips the kinds it does
//! not know. Writers never change bytes already written: a log is append-only,
//! so a file keeps the version its header was written with even when a newer
//! logger appends kinds added since.
//!
//! | version | change                                                        |
//! |---------|---------------------------------------------------------------|
//! | 1.0     | Layout, Clear, Scatter, MultiLines, TandemLines, Step, Fragment |
//! | 1.1     | LineNames (8): a 1.0 reader skips them and draws lines unnamed |

mod decode;
mod encode;
mod errors;
mod frame;
mod message;
mod record;
mod scan;

pub use decode::{BodyPrefix, decode_body, read_prefix};
pub use encode::{encode_file_header, encode_record};
pub use errors::{BodyError, FrameError, HeaderError, PackError};
pub use frame::FrameHeader;
pub use message::{encode_fragments, pack_messages, split_frames};
pub use record::{
    ColorSpec, DataCall, Fragment, GridCell, GridSpec, LineNames, Record, RecordBody, RecordKind, RecordMeta,
    TandemCall, Tensor, TensorData, TensorView,
};
pub use scan::{FrameScanner, PushDecoder, Scan, StreamEvent};

/// The first 8 bytes of every log file.
pub const FILE_MAGIC: [u8; 8] = *b"SVGPULOG";
/// Major format version written and accepted by this build.
pub const FORMAT_MAJOR: u16 = 1;
/// Minor format version written by this build.
pub const FORMAT_MINOR: u16 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// The first 4 bytes of every frame.
pub const FRAME_MARKER: [u8; 4] = *b"SVRC";
/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 24;
/// Alignment of frames and tensor payloads.
pub const ALIGN: usize = 8;
/// The largest body a reader accepts (64 GiB).
pub const MAX_BODY_BYTES: u64 = 1 << 36;
/// The most bytes of frames one Pub/Sub message carries (the service
/// refuses requests over 10 MB).
pub const MESSAGE_MAX_BYTES: usize = 9 << 20;
/// The largest tensor rank a reader accepts.
pub const MAX_RANK: usize = 16;

/// The decoder's fuzz check: `data` is decoded as a file and as a message,
/// whole and fed in pieces, and the two must agree. Panics only on a real
/// decoder bug; shared by the cargo-fuzz target and the tests.
pub fn fuzz_decode(data: &[u8]) {
    for file in [true, false] {
        let whole = bytes::Bytes::copy_from_slice(data);
        let mut scanner = if file {
            FrameScanner::for_file()
        } else {
            FrameScanner::for_message()
        };
        let mut events = Vec::new();
        // Every event advances the scanner, so there are at most as many
        // events as bytes (plus one); more would mean a loop.
        for _ in 0..=data.len() + 1 {
            match scanner.next_event(&whole, 0) {
                Ok(Some(event)) => events.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        assert!(events.len() <= data.len() + 1, "the decoder looped");
        let mut pushed = if file {
            PushDecoder::for_file()
        } else {
            PushDecoder::for_message()
        };
        let mut piecewise = Vec::new();
        let step = 1 + data.first().copied().unwrap_or(0) as usize % 7;
        'feed: for piece in data.chunks(step) {
            pushed.push(piece);
            loop {
                match pushed.next_event() {
                    Ok(Some(event)) => piecewise.push(event),
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
        let records = |events: &[StreamEvent]| {
            events
                .iter()
                .filter_map(|e| match e {
                    StreamEvent::Record { offset, record } => Some((*offset, format!("{record:?}"))),
                    StreamEvent::Corrupt { .. } => None,
                })
                .collect::<Vec<_>>()
        };
        // Records are found the same way however the bytes arrive (warnings
        // may differ: a cut-short record is only known as such once later
        // bytes arrive).
        assert_eq!(
            records(&events),
            records(&piecewise),
            "whole and piecewise decoding disagree"
        );
    }
}

/// Rounds `n` up to a multiple of [`ALIGN`].
pub const fn align_up(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

#[cfg(test)]
mod tests;
