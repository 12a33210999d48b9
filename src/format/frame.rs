//! The 24-byte frame header: the only code that reads or writes its bytes.

use super::errors::FrameError;
use super::record::RecordKind;
use super::{ALIGN, FRAME_HEADER_LEN, FRAME_MARKER, MAX_BODY_BYTES};

/// A frame header, as laid out in the frame table of the [format spec](super).
///
/// The marker and the header's own checksum are not fields: [`write`]
/// produces them and [`read`] checks them.
///
/// [`write`]: FrameHeader::write
/// [`read`]: FrameHeader::read
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The record kind as stored; kept raw so a reader can skip kinds added
    /// by a newer minor version (see [`FrameHeader::record_kind`]).
    pub kind: u16,
    /// Zero in this version; read back as stored.
    pub flags: u16,
    /// Body length in bytes, a multiple of 8.
    pub body_len: u64,
    /// CRC32C of the body.
    pub body_crc: u32,
}

impl FrameHeader {
    /// The header for `body` (already padded to a multiple of 8) of a
    /// record of `kind`.
    pub fn for_body(kind: RecordKind, body: &[u8]) -> Self {
        debug_assert_eq!(body.len() % ALIGN, 0, "bodies are padded to 8");
        Self {
            kind: kind as u16,
            flags: 0,
            body_len: body.len() as u64,
            body_crc: crc32c::crc32c(body),
        }
    }

    /// Parses a header, checking its marker, its checksum and that the body
    /// length is possible (a multiple of 8, at most [`MAX_BODY_BYTES`]).
    pub fn read(bytes: &[u8; FRAME_HEADER_LEN]) -> Result<Self, FrameError> {
        let marker = field(bytes, 0);
        if marker != FRAME_MARKER {
            return Err(FrameError::BadMarker { found: marker });
        }
        let expected = u32::from_le_bytes(field(bytes, 20));
        let got = crc32c::crc32c(&bytes[..FRAME_HEADER_LEN - 4]);
        if expected != got {
            return Err(FrameError::HeaderCrcMismatch { expected, got });
        }
        let body_len = u64::from_le_bytes(field(bytes, 8));
        if body_len % ALIGN as u64 != 0 || body_len > MAX_BODY_BYTES {
            return Err(FrameError::ImpossibleLength {
                len_bytes: body_len,
                max_bytes: MAX_BODY_BYTES,
            });
        }
        Ok(Self {
            kind: u16::from_le_bytes(field(bytes, 4)),
            flags: u16::from_le_bytes(field(bytes, 6)),
            body_len,
            body_crc: u32::from_le_bytes(field(bytes, 16)),
        })
    }

    /// The header's 24 bytes: marker, fields, and the header checksum.
    pub fn write(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut out = [0u8; FRAME_HEADER_LEN];
        out[0..4].copy_from_slice(&FRAME_MARKER);
        out[4..6].copy_from_slice(&self.kind.to_le_bytes());
        out[6..8].copy_from_slice(&self.flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.body_len.to_le_bytes());
        out[16..20].copy_from_slice(&self.body_crc.to_le_bytes());
        let header_crc = crc32c::crc32c(&out[..FRAME_HEADER_LEN - 4]);
        out[20..24].copy_from_slice(&header_crc.to_le_bytes());
        out
    }

    /// The record kind, or `None` for a kind this build does not know.
    pub fn record_kind(&self) -> Option<RecordKind> {
        RecordKind::from_u16(self.kind)
    }

    /// Length of the whole frame, header included.
    pub fn frame_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + self.body_len
    }

    /// Checks `body` (exactly [`FrameHeader::body_len`] bytes) against the
    /// stored checksum.
    pub fn check_body(&self, body: &[u8]) -> Result<(), FrameError> {
        let got = crc32c::crc32c(body);
        if got != self.body_crc {
            return Err(FrameError::BodyCrcMismatch {
                expected: self.body_crc,
                got,
            });
        }
        Ok(())
    }
}

/// The `N` bytes of a header field at offset `at` (fixed offsets, always
/// within the 24 bytes).
fn field<const N: usize>(bytes: &[u8; FRAME_HEADER_LEN], at: usize) -> [u8; N] {
    std::array::from_fn(|i| bytes[at + i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FrameHeader {
        FrameHeader {
            kind: RecordKind::Scatter as u16,
            flags: 0,
            body_len: 4096,
            body_crc: 0x1234_5678,
        }
    }

    #[test]
    fn round_trips() {
        let header = sample();
        assert_eq!(FrameHeader::read(&header.write()), Ok(header));
    }

    #[test]
    fn every_field_sits_where_the_spec_says() {
        let header = FrameHeader {
            kind: 0x0a0b,
            flags: 0x0c0d,
            body_len: 0x0102_0304_0506_0708,
            body_crc: 0x1122_3344,
        };
        let bytes = header.write();
        assert_eq!(&bytes[0..4], b"SVRC");
        assert_eq!(bytes[4..6], [0x0b, 0x0a], "kind, little-endian");
        assert_eq!(bytes[6..8], [0x0d, 0x0c], "flags");
        assert_eq!(bytes[8..16], [8, 7, 6, 5, 4, 3, 2, 1], "body length");
        assert_eq!(bytes[16..20], [0x44, 0x33, 0x22, 0x11], "body checksum");
        assert_eq!(
            bytes[20..24],
            crc32c::crc32c(&bytes[0..20]).to_le_bytes(),
            "header checksum"
        );
    }

    #[test]
    fn each_field_reads_back_alone() {
        let base = sample();
        // A header differing from `base` in one field, and that field's bytes.
        let variants = [
            (FrameHeader { kind: 99, ..base }, 4..6),
            (FrameHeader { flags: 1, ..base }, 6..8),
            (FrameHeader { body_len: 0, ..base }, 8..16),
            (
                FrameHeader {
                    body_len: MAX_BODY_BYTES,
                    ..base
                },
                8..16,
            ),
            (FrameHeader { body_crc: 0, ..base }, 16..20),
            (
                FrameHeader {
                    body_crc: u32::MAX,
                    ..base
                },
                16..20,
            ),
        ];
        let base_bytes = base.write();
        for (header, field) in variants {
            let bytes = header.write();
            assert_eq!(FrameHeader::read(&bytes), Ok(header));
            for i in (0..20).filter(|i| !field.contains(i)) {
                assert_eq!(bytes[i], base_bytes[i], "{header:?}: byte {i} changed");
            }
            assert_ne!(bytes[field.clone()], base_bytes[field], "{header:?}");
        }
        assert_eq!(FrameHeader { kind: 99, ..base }.record_kind(), None);
        assert_eq!(base.record_kind(), Some(RecordKind::Scatter));
        assert_eq!(base.frame_len(), 4096 + 24);
    }

    #[test]
    fn for_body_checksums_the_body() {
        let body = [7u8; 16];
        let header = FrameHeader::for_body(RecordKind::Step, &body);
        assert_eq!(header.kind, 6);
        assert_eq!(header.flags, 0);
        assert_eq!(header.body_len, 16);
        assert_eq!(header.check_body(&body), Ok(()));
        let mut damaged = body;
        damaged[3] ^= 1;
        assert!(matches!(
            header.check_body(&damaged),
            Err(FrameError::BodyCrcMismatch { expected, .. }) if expected == header.body_crc
        ));
    }

    #[test]
    fn damage_is_named() {
        let good = sample().write();

        let mut bad_marker = good;
        bad_marker[0] = b'X';
        assert_eq!(
            FrameHeader::read(&bad_marker),
            Err(FrameError::BadMarker { found: *b"XVRC" })
        );

        for i in 4..24 {
            let mut flipped = good;
            flipped[i] ^= 0x40;
            assert!(
                matches!(FrameHeader::read(&flipped), Err(FrameError::HeaderCrcMismatch { .. })),
                "byte {i}"
            );
        }

        for body_len in [12, MAX_BODY_BYTES + 8] {
            let bytes = FrameHeader { body_len, ..sample() }.write();
            assert_eq!(
                FrameHeader::read(&bytes),
                Err(FrameError::ImpossibleLength {
                    len_bytes: body_len,
                    max_bytes: MAX_BODY_BYTES
                })
            );
        }
    }
}
