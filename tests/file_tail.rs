//! Following a log file: growth, a missing file, a file that shrinks or is
//! replaced, and a file that is not a log.

use std::path::Path;

use streamvis_gpu::source::{FileTail, SourceEvent};
use streamvis_gpu::{DataLogger, GridCell};

/// Every event available now, summarised: record sequence numbers, or
/// "restart" / "corrupt".
fn drain(tail: &mut FileTail) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(event) = tail.next_event().unwrap() {
        seen.push(match event {
            SourceEvent::Record { record, .. } => format!("{}:{}", record.meta.run_name, record.meta.seq),
            SourceEvent::Corrupt { .. } => "corrupt".into(),
            SourceEvent::Restarted { .. } => "restart".into(),
        });
    }
    seen
}

fn log(path: &Path, run: &str, records: usize) {
    let mut logger = DataLogger::new(run);
    logger.init_write_log(path).unwrap();
    for _ in 0..records {
        logger.set_layout([("p", GridCell::new(0, 0, 1, 1))]).unwrap();
    }
}

#[test]
fn a_missing_file_is_created_and_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut tail = FileTail::open(&path, true).unwrap();
    assert!(path.exists(), "created");
    assert!(drain(&mut tail).is_empty());
    log(&path, "a", 2);
    assert_eq!(drain(&mut tail), ["a:0", "a:1"]);
    log(&path, "b", 1);
    assert_eq!(drain(&mut tail), ["b:0"], "growth is followed");
}

#[test]
fn a_replaced_file_restarts_from_its_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    log(&path, "old", 2);
    let mut tail = FileTail::open(&path, false).unwrap();
    assert_eq!(drain(&mut tail), ["old:0", "old:1"]);
    let other = dir.path().join("new.log");
    log(&other, "new", 3);
    std::fs::rename(&other, &path).unwrap();
    assert_eq!(drain(&mut tail), ["restart", "new:0", "new:1", "new:2"]);
}

#[test]
fn a_shrunk_file_restarts_from_its_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    log(&path, "a", 3);
    let mut tail = FileTail::open(&path, false).unwrap();
    assert_eq!(drain(&mut tail).len(), 3);
    // Rewritten in place with fewer records.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(0).unwrap();
    drop(file);
    log(&path, "b", 1);
    assert_eq!(drain(&mut tail), ["restart", "b:0"]);
}

#[test]
fn a_file_that_is_not_a_log_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "just some text, not a log at all").unwrap();
    let mut tail = FileTail::open(&path, false).unwrap();
    let err = tail.next_event().unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
    assert!(format!("{err:?}").contains("NotALog"), "{err:?}");
}
