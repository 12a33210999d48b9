//! Bytes in, records out: a log file followed as it grows (memory-mapped),
//! and, with the `pubsub` feature, a Pub/Sub subscription.

mod file_tail;
mod log_set;
mod mapped;
#[cfg(feature = "pubsub")]
pub mod pubsub_source;
mod reader;
mod steps;

pub use file_tail::FileTail;
pub use log_set::LogSet;
pub use mapped::{GuardedMap, reads_past_shrunken_ends};
#[cfg(feature = "pubsub")]
pub use pubsub_source::{PubSubOptions, PubSubSource};
pub use reader::{Follow, POLL_INTERVAL, Poll, Reader, Update, apply_to_runs, apply_update, read_to_end};
pub use steps::scan_steps;

use crate::format::{FrameError, Record};

/// What a source yields.
#[derive(Debug)]
pub enum SourceEvent {
    /// A whole, valid record; `offset` is its byte offset in the stream (for
    /// a file, in the file; for Pub/Sub, where it sits in a local log started
    /// with the source).
    Record { offset: u64, record: Record },
    /// Damaged bytes at `offset` were skipped (for Pub/Sub: an offset in the
    /// message, or in the local log for a frame that checks out but cannot
    /// be read).
    Corrupt { offset: u64, error: FrameError },
    /// The source started over (a file shrank or was replaced): everything
    /// read so far is void.
    Restarted { reason: String },
}

/// A stream of records: a followed file, a Pub/Sub subscription.
pub trait RecordSource: Send {
    /// The next event if one is available now; `Ok(None)` when caught up.
    /// Never blocks for long.
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError>;

    /// What is being read, for titles and messages: "file run.log".
    fn describe(&self) -> String;

    /// A count that grows whenever bytes arrive (a file's length, bytes
    /// received), whole records or not: a reader is idle only while it
    /// stands still. Sources that cannot tell report 0 and are idle
    /// between records.
    fn bytes_seen(&self) -> u64 {
        0
    }

    /// Bytes at the end that are not a whole record yet, as `(offset,
    /// len_bytes)`: a record still being written, or cut off.
    fn incomplete_tail(&self) -> Option<(u64, u64)> {
        None
    }

    /// Which part of the source the last event came from: one log of
    /// several ([`LogSet`]); 0 for a source of one part.
    fn part(&self) -> usize {
        0
    }

    /// A short name of part `part`, for telling runs apart ("b.log").
    fn part_name(&self, _part: usize) -> String {
        self.describe()
    }
}

impl<T: RecordSource + ?Sized> RecordSource for &mut T {
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        (**self).next_event()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }

    fn bytes_seen(&self) -> u64 {
        (**self).bytes_seen()
    }

    fn incomplete_tail(&self) -> Option<(u64, u64)> {
        (**self).incomplete_tail()
    }

    fn part(&self) -> usize {
        (**self).part()
    }

    fn part_name(&self, part: usize) -> String {
        (**self).part_name(part)
    }
}

/// Why a source cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{action} {path:?}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path:?} is {kind}, not a log file")]
    NotAFile {
        path: std::path::PathBuf,
        kind: &'static str,
    },

    #[error(
        "{path:?} cannot be read: its pages read past its end {attempts} times in a row (an I/O error, or shrinking again and again)"
    )]
    Unreadable { path: std::path::PathBuf, attempts: u32 },

    #[error("{path:?} is too large to map ({len_bytes} bytes)")]
    TooLarge { path: std::path::PathBuf, len_bytes: u64 },

    #[error("cannot read {path:?}")]
    NotALog {
        path: std::path::PathBuf,
        #[source]
        source: crate::format::HeaderError,
    },

    #[error("cannot write the local log {path:?}")]
    LocalLog {
        path: std::path::PathBuf,
        #[source]
        source: crate::log_file::LogFileError,
    },

    #[cfg(feature = "pubsub")]
    #[error(transparent)]
    PubSub(#[from] crate::pubsub_client::PubSubError),
}
