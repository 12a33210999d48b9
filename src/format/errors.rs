//! What can be wrong with bytes claimed to be a log.

/// A frame that cannot be used; the reader skips it and resynchronises.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("bad frame marker {found:02x?}")]
    BadMarker { found: [u8; 4] },

    #[error("frame header checksum mismatch: stored {expected:#010x}, computed {got:#010x}")]
    HeaderCrcMismatch { expected: u32, got: u32 },

    #[error("impossible body length {len_bytes} (a multiple of 8, at most {max_bytes})")]
    ImpossibleLength { len_bytes: u64, max_bytes: u64 },

    #[error("body checksum mismatch: stored {expected:#010x}, computed {got:#010x}")]
    BodyCrcMismatch { expected: u32, got: u32 },

    #[error("record cut short: a new record starts at offset {next_offset}, inside its body")]
    CutShort { next_offset: u64 },

    #[error("unknown record kind {kind} (written by a newer version?)")]
    UnknownKind { kind: u16 },

    #[error("unreadable body: {0}")]
    Body(#[from] BodyError),
}

/// A file that is not a log this reader can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("not a streamvis-gpu log: the file starts with {found:02x?}")]
    NotALog { found: Vec<u8> },

    #[error("log format version {major}.{minor} is not supported (this build reads {supported}.x)")]
    UnsupportedVersion { major: u16, minor: u16, supported: u16 },
}

/// A body whose checksum holds but whose fields do not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("{field} needs {need} bytes at body offset {at}, body has {len}")]
    Truncated {
        field: &'static str,
        at: usize,
        need: usize,
        len: usize,
    },

    #[error("{field} is not valid UTF-8")]
    BadUtf8 { field: &'static str },

    #[error("{field} has unknown tag {tag}")]
    BadTag { field: &'static str, tag: u32 },

    #[error("tensor dtype {dtype} is not supported (1 = f32)")]
    UnsupportedDtype { dtype: u32 },

    #[error("tensor rank {rank} exceeds {max}")]
    RankTooLarge { rank: usize, max: usize },

    #[error("tensor shape {shape:?} does not match its {len_bytes} bytes")]
    ShapeMismatch { shape: Vec<u64>, len_bytes: u64 },
}

/// A buffer that cannot be packed into messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("not a buffer of whole frames: bad frame header at offset {offset}")]
    BadFrame {
        offset: usize,
        #[source]
        source: FrameError,
    },

    #[error("not a buffer of whole frames: the frame at offset {offset} needs {need} bytes, {available} are left")]
    CutShort { offset: usize, need: u64, available: usize },

    #[error("cannot fragment a frame whose record prefix does not parse")]
    BadPrefix(#[source] BodyError),

    #[error(
        "a message of {max_bytes} bytes leaves no room for a fragment's bytes ({overhead_bytes} bytes of overhead)"
    )]
    NoRoomForPiece { max_bytes: usize, overhead_bytes: usize },

    #[error("a frame of {frame_len} bytes needs more than {max} fragments of {piece_len} bytes", max = u32::MAX)]
    TooManyFragments { frame_len: usize, piece_len: usize },
}
