use std::time::{Duration, Instant};

use super::*;
use crate::format::{RecordBody, StreamEvent};

fn read_log(path: &Path) -> (Vec<crate::format::Record>, usize) {
    let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
    let mut scanner = crate::format::FrameScanner::for_file();
    let (mut records, mut corrupt) = (Vec::new(), 0);
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        match event {
            StreamEvent::Record { record, .. } => records.push(record),
            StreamEvent::Corrupt { .. } => corrupt += 1,
        }
    }
    (records, corrupt)
}

fn layout() -> [(&'static str, GridCell); 2] {
    [("a", GridCell::new(0, 0, 1, 1)), ("b", GridCell::new(0, 1, 1, 1))]
}

#[test]
fn refused_calls_write_nothing_and_keep_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let mut logger = DataLogger::new("run");
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    let v = [0.0f32; 6];
    let err = logger
        .scatter("zz", TensorView::new(&[3, 2], &v), 1, false, None, None)
        .unwrap_err();
    assert!(matches!(err, LoggerError::Call(CallError::NotInLayout { .. })), "{err}");
    let err = logger
        .scatter("a", TensorView::new(&[2, 3], &v), 1, false, None, None)
        .unwrap_err();
    assert!(
        matches!(err, LoggerError::Call(CallError::WrongSpatialSize { .. })),
        "{err}"
    );
    logger
        .scatter("a", TensorView::new(&[3, 2], &v), 1, false, None, None)
        .unwrap();
    logger.clear().unwrap();
    let err = logger.tandem_lines("a", 0.0, &[1.0], None, None).unwrap_err();
    assert!(
        matches!(err, LoggerError::Call(CallError::NotInLayout { .. })),
        "clear drops the layout: {err}"
    );
    logger.flush().unwrap();

    let (records, corrupt) = read_log(&path);
    assert_eq!(corrupt, 0);
    let kinds: Vec<_> = records.iter().map(|r| r.body.kind()).collect();
    use crate::format::RecordKind::*;
    assert_eq!(kinds, vec![Layout, Scatter, Clear]);
    let seqs: Vec<u64> = records.iter().map(|r| r.meta.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    assert!(
        records
            .iter()
            .all(|r| r.meta.session_id == logger.session_id() && r.meta.run_name == "run")
    );
}

#[test]
fn logging_needs_a_destination() {
    let mut logger = DataLogger::new("run");
    assert!(matches!(logger.set_layout(layout()), Err(LoggerError::NoSink)));
}

#[test]
fn a_file_that_is_not_a_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello, this is not a log").unwrap();
    let err = DataLogger::new("run").init_write_log(&path).unwrap_err();
    assert!(
        matches!(err, LoggerError::LogFile(LogFileError::NotALog { .. })),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "hello, this is not a log",
        "left untouched"
    );
}

#[test]
fn two_loggers_append_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let mut first = DataLogger::new("one");
    first.init_write_log(&path).unwrap();
    first.set_layout(layout()).unwrap();
    first.flush().unwrap();
    let mut second = DataLogger::new("two");
    second.init_write_log(&path).unwrap();
    second.set_layout(layout()).unwrap();
    second.tandem_lines("b", 1.0, &[2.0], None, None).unwrap();
    drop(second);
    drop(first);
    let (records, corrupt) = read_log(&path);
    assert_eq!(corrupt, 0);
    let runs: Vec<&str> = records.iter().map(|r| r.meta.run_name.as_str()).collect();
    assert_eq!(runs, vec!["one", "two", "two"]);
}

#[test]
fn appending_after_a_torn_record_keeps_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let mut logger = DataLogger::new("run");
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    logger.tandem_lines("a", 0.0, &[1.0, 2.0, 3.0], None, None).unwrap();
    drop(logger);
    // A crash mid-record: the file ends 5 bytes into a frame.
    let mut bytes = std::fs::read(&path).unwrap();
    let full = bytes.len();
    bytes.truncate(full - 13);
    std::fs::write(&path, &bytes).unwrap();

    let mut logger = DataLogger::new("again");
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    drop(logger);
    let (records, corrupt) = read_log(&path);
    assert_eq!(corrupt, 1, "the torn record is reported once");
    let runs: Vec<&str> = records.iter().map(|r| r.meta.run_name.as_str()).collect();
    assert_eq!(runs, vec!["run", "again"]);
}

#[test]
fn the_background_flusher_writes_without_an_explicit_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let options = LoggerOptions {
        flush_interval: Duration::from_millis(10),
        ..LoggerOptions::default()
    };
    let mut logger = DataLogger::with_options("run", options);
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while read_log(&path).0.is_empty() {
        assert!(Instant::now() < deadline, "nothing flushed within 5 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(read_log(&path).0[0].body, RecordBody::Layout(_)));
}

#[test]
fn a_large_batch_is_flushed_at_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let options = LoggerOptions {
        flush_interval: Duration::from_secs(3600),
        flush_threshold_bytes: 1024,
    };
    let mut logger = DataLogger::with_options("run", options);
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    let v = vec![1.0f32; 512];
    logger
        .scatter("a", TensorView::new(&[256, 2], &v), 1, false, None, None)
        .unwrap();
    assert_eq!(read_log(&path).0.len(), 2, "written without flush or timer");
}

#[test]
fn steps_are_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let mut logger = DataLogger::new("run");
    logger.init_write_log(&path).unwrap();
    assert_eq!(logger.end_step().unwrap(), 0);
    assert_eq!(logger.end_step().unwrap(), 1);
    drop(logger);
    let steps: Vec<_> = read_log(&path).0.into_iter().map(|r| r.body).collect();
    assert_eq!(steps, vec![RecordBody::Step(0), RecordBody::Step(1)]);
}

#[test]
fn line_names_are_written_when_they_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.log");
    let mut logger = DataLogger::new("run");
    logger.init_write_log(&path).unwrap();
    logger.set_layout(layout()).unwrap();
    let names = ["train", "val"];
    for step in 0..3 {
        logger
            .tandem_lines("a", step as f64, &[1.0, 2.0], None, Some(&names))
            .unwrap();
    }
    let err = logger
        .tandem_lines("a", 3.0, &[1.0, 2.0], None, Some(&["train"]))
        .unwrap_err();
    assert!(
        matches!(err, LoggerError::Call(CallError::NamesCount { names: 1, lines: 2 })),
        "{err}"
    );
    // Unnamed calls keep the names; other names are written again.
    logger.tandem_lines("a", 4.0, &[1.0, 2.0], None, None).unwrap();
    logger
        .tandem_lines("a", 5.0, &[1.0, 2.0], None, Some(&["loss", "val"]))
        .unwrap();
    let lines = [0.0f32; 12];
    let data = TensorView::new(&[3, 2, 2], &lines);
    let err = logger
        .multi_lines("b", data, &[0], 1, false, None, None, Some(&["x", "y"]))
        .unwrap_err();
    assert!(matches!(err, LoggerError::Call(CallError::NamesCount { .. })), "{err}");
    logger
        .multi_lines("b", data, &[0], 1, false, None, None, Some(&["x", "y", "z"]))
        .unwrap();
    // A clear forgets what was written: the names come again.
    logger.clear().unwrap();
    logger.set_layout(layout()).unwrap();
    logger
        .tandem_lines("a", 0.0, &[1.0, 2.0], None, Some(&["loss", "val"]))
        .unwrap();
    logger.flush().unwrap();
    let (records, corrupt) = read_log(&path);
    assert_eq!(corrupt, 0);
    let kinds: Vec<String> = records
        .iter()
        .map(|r| match &r.body {
            RecordBody::LineNames(n) => format!("names {} {}", n.plot, n.names.join(",")),
            body => format!("{:?}", body.kind()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Layout",
            "names a train,val",
            "TandemLines",
            "TandemLines",
            "TandemLines",
            "TandemLines",
            "names a loss,val",
            "TandemLines",
            "names b x,y,z",
            "MultiLines",
            "Clear",
            "Layout",
            "names a loss,val",
            "TandemLines",
        ]
    );
}
