//! Bytes in, records out: a log file followed as it grows (memory-mapped),
//! and, with the `pubsub` feature, a Pub/Sub subscription.

mod file_tail;
#[cfg(feature = "pubsub")]
pub mod pubsub_source;

pub use file_tail::FileTail;
#[cfg(feature = "pubsub")]
pub use pubsub_source::{PubSubOptions, PubSubSource};

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

    #[error("{0}")]
    Transport(String),

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
