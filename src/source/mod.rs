//! Bytes in, records out: a log file followed as it grows (memory-mapped),
//! and, with the `pubsub` feature, a Pub/Sub subscription.

mod file_tail;

pub use file_tail::{FileTail, TailEvent};

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

    #[error("cannot read {path:?}")]
    NotALog {
        path: std::path::PathBuf,
        #[source]
        source: crate::format::HeaderError,
    },
}
