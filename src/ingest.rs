//! Moving records from a source into the store, warning about what is
//! skipped. Shared by the command line, the window and the video writer.

use crate::source::{RecordSource, SourceError, SourceEvent};
use crate::store::Store;

/// What one [`pump`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pumped {
    /// Records applied to the store.
    pub applied: usize,
    /// The source has nothing more for now.
    pub at_end: bool,
    /// The source restarted (file replaced or truncated): the store was reset.
    pub restarted: bool,
}

/// Applies up to `max_records` records from `tail` to `store`. Corrupt bytes
/// and records the store refuses are logged as warnings, naming the offset.
pub fn pump(tail: &mut dyn RecordSource, store: &mut Store, max_records: usize) -> Result<Pumped, SourceError> {
    pump_with(tail, store, max_records, |_, _| {})
}

/// Like [`pump`], calling `on_record(store, offset)` after each record is
/// applied (a video writer takes a frame at step boundaries this way).
pub fn pump_with(
    tail: &mut dyn RecordSource,
    store: &mut Store,
    max_records: usize,
    mut on_record: impl FnMut(&Store, u64),
) -> Result<Pumped, SourceError> {
    let mut pumped = Pumped::default();
    while pumped.applied < max_records {
        match tail.next_event()? {
            None => {
                pumped.at_end = true;
                break;
            }
            Some(SourceEvent::Record { offset, record }) => match store.apply(&record) {
                Ok(()) => {
                    pumped.applied += 1;
                    on_record(store, offset);
                }
                Err(err) => log::warn!("{}: record at byte offset {offset} not shown: {err}", tail.describe()),
            },
            Some(SourceEvent::Corrupt { offset, error }) => {
                log::warn!(
                    "{}: skipping corrupt record at byte offset {offset}: {error}",
                    tail.describe()
                );
            }
            Some(SourceEvent::Restarted { reason }) => {
                log::warn!("{reason}; starting over");
                store.reset();
                pumped.restarted = true;
            }
        }
    }
    Ok(pumped)
}
