//! Finding frames in a byte stream that may be growing, torn or damaged.

use bytes::{Buf, Bytes, BytesMut};

use super::decode::decode_body;
use super::errors::{FrameError, HeaderError};
use super::frame::FrameHeader;
use super::record::{Record, RecordKind};
use super::{ALIGN, FILE_HEADER_LEN, FILE_MAGIC, FORMAT_MAJOR, FRAME_HEADER_LEN};

/// What [`FrameScanner::poll`] found at the scanner's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Nothing more can be decided until more bytes arrive.
    NeedMore,
    /// A whole frame with valid checksums starts at `offset`.
    Frame {
        offset: u64,
        kind: RecordKind,
        body_len: usize,
    },
    /// The frame at `offset` is damaged; the scanner has moved on and will
    /// resume at the next valid frame.
    Corrupt { offset: u64, error: FrameError },
}

/// What a stream yields: a record, or a warning about skipped bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    Record { offset: u64, record: Record },
    Corrupt { offset: u64, error: FrameError },
}

/// The frame header at `at` in `data`, if all 24 bytes are there.
fn header_at(data: &[u8], at: usize) -> Option<Result<FrameHeader, FrameError>> {
    let bytes = data.get(at..)?.first_chunk::<FRAME_HEADER_LEN>()?;
    Some(FrameHeader::read(bytes))
}

/// Checks the file header; `Ok(false)` means not all 16 bytes are there yet.
fn check_file_header(bytes: &[u8]) -> Result<bool, HeaderError> {
    let n = bytes.len().min(FILE_MAGIC.len());
    if bytes[..n] != FILE_MAGIC[..n] {
        return Err(HeaderError::NotALog {
            found: bytes[..n].to_vec(),
        });
    }
    if bytes.len() < FILE_HEADER_LEN {
        return Ok(false);
    }
    let major = u16::from_le_bytes([bytes[8], bytes[9]]);
    let minor = u16::from_le_bytes([bytes[10], bytes[11]]);
    if major != FORMAT_MAJOR {
        return Err(HeaderError::UnsupportedVersion {
            major,
            minor,
            supported: FORMAT_MAJOR,
        });
    }
    Ok(true)
}

/// A resumable scanner over a stream of frames.
///
/// The caller hands it the stream's bytes as they grow (`data` holds stream
/// offsets `base..base + data.len()`, and must cover the scanner's position);
/// the scanner keeps only its position and never loops: every call either
/// advances, or returns [`Scan::NeedMore`].
#[derive(Clone, Debug)]
pub struct FrameScanner {
    /// Stream offset of the next byte to examine.
    pos: u64,
    /// Still to check the 16-byte file header at offset 0.
    expect_file_header: bool,
    /// Looking for the next valid frame header after damage.
    resyncing: bool,
    /// While a body is incomplete: how far it has been searched for a valid
    /// header (a sign that the record was cut short and later writes
    /// followed).
    pending_searched_to: u64,
}

impl FrameScanner {
    /// A scanner for a log file, which starts with a file header.
    pub fn for_file() -> Self {
        Self {
            pos: 0,
            expect_file_header: true,
            resyncing: false,
            pending_searched_to: 0,
        }
    }

    /// A scanner for a message: frames from offset 0, no file header.
    pub fn for_message() -> Self {
        Self {
            pos: 0,
            expect_file_header: false,
            resyncing: false,
            pending_searched_to: 0,
        }
    }

    /// Stream offset where the next frame is expected; everything before it
    /// has been reported.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Examines the stream at the scanner's position.
    pub fn poll(&mut self, data: &[u8], base: u64) -> Result<Scan, HeaderError> {
        assert!(base <= self.pos, "data must cover the scanner's position");
        let end = base + data.len() as u64;
        let at = |pos: u64| (pos - base) as usize;

        if self.expect_file_header {
            if !check_file_header(&data[at(self.pos)..])? {
                return Ok(Scan::NeedMore);
            }
            self.pos = FILE_HEADER_LEN as u64;
            self.expect_file_header = false;
        }

        if self.resyncing {
            while self.pos + FRAME_HEADER_LEN as u64 <= end {
                if matches!(header_at(data, at(self.pos)), Some(Ok(_))) {
                    self.resyncing = false;
                    break;
                }
                self.pos += ALIGN as u64;
            }
            if self.resyncing {
                return Ok(Scan::NeedMore);
            }
        }

        let offset = self.pos;
        let header = match header_at(data, at(offset)) {
            None => return Ok(Scan::NeedMore),
            Some(Ok(header)) => header,
            Some(Err(error)) => return Ok(self.damaged(offset, error)),
        };

        let body_start = offset + FRAME_HEADER_LEN as u64;
        let frame_end = body_start + header.body_len;
        if frame_end > end {
            // Being written, or cut short. A valid header inside the pending
            // body means later writes followed a crash: skip to it.
            let mut p = self.pending_searched_to.max(body_start);
            while p + FRAME_HEADER_LEN as u64 <= end {
                if matches!(header_at(data, at(p)), Some(Ok(_))) {
                    self.pos = p;
                    self.pending_searched_to = 0;
                    let error = FrameError::CutShort { next_offset: p };
                    return Ok(Scan::Corrupt { offset, error });
                }
                p += ALIGN as u64;
            }
            self.pending_searched_to = p;
            return Ok(Scan::NeedMore);
        }
        self.pending_searched_to = 0;

        if let Err(error) = header.check_body(&data[at(body_start)..at(frame_end)]) {
            return Ok(self.damaged(offset, error));
        }
        self.pos = frame_end;
        match header.record_kind() {
            Some(kind) => Ok(Scan::Frame {
                offset,
                kind,
                body_len: header.body_len as usize,
            }),
            None => Ok(Scan::Corrupt {
                offset,
                error: FrameError::UnknownKind { kind: header.kind },
            }),
        }
    }

    /// Moves past a damaged frame and starts looking for the next valid one.
    fn damaged(&mut self, offset: u64, error: FrameError) -> Scan {
        self.pos = offset + ALIGN as u64;
        self.resyncing = true;
        self.pending_searched_to = 0;
        Scan::Corrupt { offset, error }
    }

    /// Polls and decodes: the next record or warning in `data` (stream offsets
    /// `base..`), with tensors sharing `data`'s memory. `Ok(None)` means more
    /// bytes are needed.
    pub fn next_event(&mut self, data: &Bytes, base: u64) -> Result<Option<StreamEvent>, HeaderError> {
        Ok(match self.poll(data, base)? {
            Scan::NeedMore => None,
            Scan::Corrupt { offset, error } => Some(StreamEvent::Corrupt { offset, error }),
            Scan::Frame { offset, kind, body_len } => {
                let start = (offset - base) as usize + FRAME_HEADER_LEN;
                Some(decode_frame(offset, kind, data.slice(start..start + body_len)))
            }
        })
    }
}

fn decode_frame(offset: u64, kind: RecordKind, body: Bytes) -> StreamEvent {
    match decode_body(kind, body) {
        Ok(record) => StreamEvent::Record { offset, record },
        Err(error) => StreamEvent::Corrupt {
            offset,
            error: error.into(),
        },
    }
}

/// A decoder fed bytes in pieces of any size (a socket, a test feeding one
/// byte at a time). It buffers only what it has not yet reported.
#[derive(Debug)]
pub struct PushDecoder {
    scanner: FrameScanner,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    base: u64,
}

impl PushDecoder {
    pub fn for_file() -> Self {
        Self {
            scanner: FrameScanner::for_file(),
            buf: BytesMut::new(),
            base: 0,
        }
    }

    pub fn for_message() -> Self {
        Self {
            scanner: FrameScanner::for_message(),
            buf: BytesMut::new(),
            base: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held but not yet reported.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The next record or warning; `Ok(None)` until more bytes are pushed.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, HeaderError> {
        let scan = self.scanner.poll(&self.buf, self.base)?;
        let event = match scan {
            Scan::NeedMore => None,
            Scan::Corrupt { offset, error } => Some(StreamEvent::Corrupt { offset, error }),
            Scan::Frame { offset, kind, body_len } => {
                self.consume_to(offset);
                let frame = self.buf.split_to(FRAME_HEADER_LEN + body_len).freeze();
                self.base += frame.len() as u64;
                Some(decode_frame(offset, kind, frame.slice(FRAME_HEADER_LEN..)))
            }
        };
        // Whatever lies before the scanner's position is reported or skipped.
        self.consume_to(self.scanner.position());
        Ok(event)
    }

    fn consume_to(&mut self, pos: u64) {
        let n = (pos.saturating_sub(self.base) as usize).min(self.buf.len());
        if n > 0 {
            self.buf.advance(n);
            self.base += n as u64;
        }
    }
}
