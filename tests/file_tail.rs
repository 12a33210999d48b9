//! Following a log file: growth, a missing file, a file that shrinks or is
//! replaced or rewritten (also while its records are borrowed), and files
//! that are not logs.

mod common;

use std::path::Path;

use streamvis_gpu::source::{FileTail, RecordSource, SourceEvent, read_to_end};
use streamvis_gpu::store::Store;
use streamvis_gpu::{DataLogger, GridCell, TensorView};

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
    common::truncate(&path, 0);
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

/// A log whose records hold tensors: scatters of `points` points, so the
/// file spans many pages.
fn log_clouds(path: &Path, run: &str, records: usize, points: usize) {
    let mut logger = DataLogger::new(run);
    logger.init_write_log(path).unwrap();
    logger.set_layout([("p", GridCell::new(0, 0, 1, 1))]).unwrap();
    let values: Vec<f32> = (0..points * 2).map(|i| i as f32 + 1.0).collect();
    for _ in 0..records {
        logger
            .scatter("p", TensorView::new(&[points, 2], &values), 1, true, None, None)
            .unwrap();
    }
}

#[test]
fn records_kept_after_the_file_shrinks_read_as_zeros_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    log_clouds(&path, "a", 8, 50_000);
    let mut tail = FileTail::open(&path, false).unwrap();
    let mut store = Store::new();
    read_to_end(&mut tail, &mut store).unwrap();
    let before = sum_of_points(&store);
    assert!(before > 0.0);
    // `truncate -s 100` while the store still borrows the mapped records:
    // reading them must not raise SIGBUS (it would end this test process).
    common::truncate(&path, 100);
    assert_eq!(sum_of_points(&store), 0.0, "pages past the new end read as zeros");
    // The tail notices and starts over; the truncated log has no record.
    assert_eq!(drain(&mut tail), ["restart"]);
}

/// The sum of every scatter value the store holds, read from the borrowed
/// bytes (volatile: the bytes may change under the reader).
fn sum_of_points(store: &Store) -> f64 {
    let mut sum = 0.0;
    for plot in store.plots() {
        for batch in plot.batches {
            // The high byte of one value per page: not zero for values >= 1.
            let bytes = &batch.tensor.bytes[..];
            for i in (3..bytes.len()).step_by(4096) {
                sum += unsafe { std::ptr::read_volatile(bytes.as_ptr().add(i)) } as f64;
            }
        }
    }
    sum
}

#[test]
fn a_file_shrunk_while_being_decoded_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    log_clouds(&path, "a", 6, 100_000);
    let mut tail = FileTail::open(&path, false).unwrap();
    // Decode one record (the mapping now covers the whole file), then cut
    // the file inside the next record's pages before decoding it.
    assert!(matches!(tail.next_event().unwrap(), Some(SourceEvent::Record { .. })));
    let first_end = tail.position();
    common::truncate(&path, first_end + 10_000);
    let events = drain(&mut tail);
    assert_eq!(events.first().map(String::as_str), Some("restart"), "{events:?}");
    assert!(!events.contains(&"corrupt".to_owned()), "{events:?}");
}

#[test]
fn a_file_rewritten_in_place_larger_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    log(&path, "old", 2);
    let mut tail = FileTail::open(&path, false).unwrap();
    assert_eq!(drain(&mut tail), ["old:0", "old:1"]);
    // `cp new.log run.log`: the same inode, truncated and written again with
    // more bytes than before, all between two looks.
    let other = dir.path().join("new.log");
    log(&other, "new", 5);
    std::fs::copy(&other, &path).unwrap();
    assert_eq!(
        drain(&mut tail),
        ["restart", "new:0", "new:1", "new:2", "new:3", "new:4"]
    );
}

#[test]
fn directories_fifos_and_short_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileTail::open(dir.path(), false).err().expect("a directory is refused");
    assert!(err.to_string().contains("is a directory, not a log file"), "{err}");
    let fifo = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Opening a FIFO for reading would block until a writer comes.
    let err = FileTail::open(&fifo, true).err().expect("a FIFO is refused");
    assert!(err.to_string().contains("is a FIFO"), "{err}");
    // Five bytes of a log's header: nothing to read, and the reader says so.
    let short = dir.path().join("short.log");
    std::fs::write(&short, b"SVGPU").unwrap();
    let mut tail = FileTail::open(&short, false).unwrap();
    assert!(drain(&mut tail).is_empty());
    assert_eq!(tail.incomplete_tail(), Some((0, 5)));
}
