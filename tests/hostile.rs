//! Hostile logs and hostile file operations against the real viewer binary:
//! each must end in a clear warning or error, never a crash. The logs are
//! crafted from the format spec (records a logger would refuse, written
//! with valid checksums), and each also runs through the whole-way fuzz
//! check in-process.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use common::Viewer;

use streamvis_gpu::DataLogger;
use streamvis_gpu::format::{
    DataCall, GridCell, RecordBody, RecordMeta, TandemCall, TensorView, encode_file_header, encode_record,
};
use streamvis_gpu::fuzz::check_log;

/// Encodes `bodies` as a log of run `run`.
fn craft(run: &str, bodies: &[RecordBody<TensorView>]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_file_header(&mut out);
    for (seq, body) in bodies.iter().enumerate() {
        let meta = RecordMeta {
            session_id: 1,
            seq: seq as u64,
            wall_time_ns: seq as i64 * 1_000_000,
            run_name: run.into(),
        };
        encode_record(&meta, body, &mut out);
    }
    out
}

fn layout(cells: &[(&str, GridCell)]) -> RecordBody<TensorView<'static>> {
    RecordBody::Layout(cells.iter().map(|(n, c)| (n.to_string(), *c)).collect())
}

/// Runs the viewer to its end.
fn run(args: &[&str]) -> (ExitStatus, String) {
    Viewer::start(args).finish()
}

fn export_of(log: &Path, out: &Path) -> serde_json::Value {
    let (status, stderr) = run(&[
        "--file",
        log.to_str().unwrap(),
        "--no-follow",
        "--export",
        out.to_str().unwrap(),
    ]);
    assert!(status.success(), "{stderr}");
    common::load_json(out)
}

#[test]
fn truncated_then_rewritten_while_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    common::test_app_log(&log, "old", 20);
    let next = dir.path().join("next.log");
    common::test_app_log(&next, "next", 35);
    let out = dir.path().join("out.json");
    let mut viewer = Viewer::start(&[
        "--file",
        log.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "3",
    ]);
    viewer.wait_for("caught up at");
    // `truncate -s 100 run.log` while the store borrows every record.
    common::truncate(&log, 100);
    viewer.wait_for("starting over");
    // `cp next.log run.log`: the same inode, rewritten larger.
    std::fs::copy(&next, &log).unwrap();
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(
        common::load_json(&out),
        export_of(&next, &dir.path().join("next.json")),
        "{stderr}"
    );
}

#[test]
fn a_slow_record_is_waited_for_while_the_file_grows() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    let points: Vec<f32> = (0..400_000).map(|i| i as f32).collect();
    let bytes = craft(
        "slow",
        &[
            layout(&[("p", GridCell::new(0, 0, 1, 1))]),
            RecordBody::Scatter(DataCall {
                plot: "p".into(),
                spatial_dim: 1,
                append: false,
                color: None,
                grid: None,
                line_dims: vec![],
                data: TensorView::new(&[200_000, 2], &points),
            }),
        ],
    );
    std::fs::write(&log, &bytes[..64]).unwrap();
    let out = dir.path().join("out.json");
    let mut viewer = Viewer::start(&[
        "--file",
        log.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "2",
    ]);
    viewer.wait_for("caught up at");
    // A slow writer: the record's bytes trickle in over about three idle
    // periods; the file grows all the while, so the viewer must not stop.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let rest = &bytes[64..];
    let pieces = 60;
    for piece in rest.chunks(rest.len().div_ceil(pieces)) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{stderr}");
    let export = common::load_json(&out);
    assert_eq!(
        export["p"]["columns"]["x"].as_array().map(Vec::len),
        Some(200_000),
        "{stderr}"
    );
}

#[test]
fn files_that_are_not_logs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let out = out.to_str().unwrap();
    // A directory stands for the logs in it: none here.
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let logs = logs.to_str().unwrap();
    let (status, stderr) = run(&["--file", logs, "--no-follow", "--export", out]);
    assert!(status.success() && stderr.contains("no logs found"), "{stderr}");
    assert_eq!(common::load_json(Path::new(out)), serde_json::json!({}));
    let (status, stderr) = run(&["--file", logs, "--record", "x.mp4"]);
    assert!(!status.success() && stderr.contains("holds no runs"), "{stderr}");
    let fifo = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Would block forever if the FIFO were opened.
    let (status, stderr) = run(&["--file", fifo.to_str().unwrap(), "--export", out]);
    assert!(!status.success() && stderr.contains("is a FIFO"), "{stderr}");
    // In a directory, a FIFO and a file without the log magic are passed over.
    std::fs::write(dir.path().join("notes.txt"), b"not a log").unwrap();
    let here = dir.path().to_str().unwrap();
    let (status, stderr) = run(&["--file", here, "--no-follow", "--export", out]);
    assert!(status.success(), "{stderr}");
    let short = dir.path().join("short.log");
    std::fs::write(&short, b"SVGPU").unwrap();
    let (status, stderr) = run(&["--file", short.to_str().unwrap(), "--no-follow", "--export", out]);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("the last 5 bytes (from byte offset 0) are not a whole record"),
        "{stderr}"
    );
}

#[test]
fn names_with_control_characters_are_escaped_in_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ctl.log");
    let ys = [1.0f32];
    let bytes = craft(
        "run\u{1b}[2J",
        &[
            layout(&[("ok", GridCell::new(0, 0, 1, 1))]),
            RecordBody::TandemLines(TandemCall {
                plot: "bad\u{1b}[31m\nname".into(),
                palette: None,
                x: 0.0,
                ys: TensorView::new(&[1], &ys),
            }),
        ],
    );
    check_log(&bytes);
    std::fs::write(&log, &bytes).unwrap();
    let (status, stderr) = run(&[
        "--file",
        log.to_str().unwrap(),
        "--no-follow",
        "--export",
        dir.path().join("o.json").to_str().unwrap(),
    ]);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("plot bad\\u{1b}[31m\\nname not in layout"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "raw control characters in {stderr:?}");
}

#[test]
fn oversized_and_overflowing_layouts_are_refused_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("layout.log");
    let names: Vec<String> = (0..100_000).map(|i| format!("p{i}")).collect();
    let huge: Vec<(&str, GridCell)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), GridCell::new(i as u32 / 300, i as u32 % 300, 1, 1)))
        .collect();
    let ys = [0.5f32];
    let mut bodies = vec![layout(&huge)];
    for name in names.iter().take(20_000) {
        bodies.push(RecordBody::TandemLines(TandemCall {
            plot: name.clone(),
            palette: None,
            x: 1.0,
            ys: TensorView::new(&[1], &ys),
        }));
    }
    bodies.push(layout(&[
        ("ok", GridCell::new(0, 0, 1, 1)),
        ("far", GridCell::new(u32::MAX - 1, 0, 4, 1)),
    ]));
    bodies.push(layout(&[("ok", GridCell::new(0, 0, 1, 1))]));
    bodies.push(RecordBody::TandemLines(TandemCall {
        plot: "ok".into(),
        palette: None,
        x: 2.0,
        ys: TensorView::new(&[1], &ys),
    }));
    let bytes = craft("big", &bodies);
    check_log(&bytes);
    std::fs::write(&log, &bytes).unwrap();
    let out = dir.path().join("o.json");
    let (status, stderr) = run(&[
        "--file",
        log.to_str().unwrap(),
        "--no-follow",
        "--export",
        out.to_str().unwrap(),
    ]);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("number of plots in the layout 100000 is too large (at most 10000)"),
        "{stderr:.2000}"
    );
    assert!(stderr.contains("lies outside the largest grid"), "{stderr:.2000}");
    // Refused records are counted, not each printed.
    assert!(
        stderr.lines().count() < 1000,
        "{} lines of stderr",
        stderr.lines().count()
    );
    assert!(stderr.contains("records not shown so far"), "{stderr:.2000}");
    let export = common::load_json(&out);
    let plots: Vec<&String> = export.as_object().unwrap().keys().collect();
    assert_eq!(plots, ["ok"]);
}

#[test]
fn a_logger_restarted_on_a_log_keeps_reading() {
    // Guards the rewrite check against false alarms: a second logger
    // appending to the same file leaves its first bytes alone.
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("run.log");
    let mut first = DataLogger::new("a");
    first.init_write_log(&log).unwrap();
    first.set_layout([("p", GridCell::new(0, 0, 1, 1))]).unwrap();
    first.flush().unwrap();
    let out = dir.path().join("out.json");
    let mut viewer = Viewer::start(&[
        "--file",
        log.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "2",
    ]);
    viewer.wait_for("caught up at");
    drop(first);
    let mut second = DataLogger::new("a");
    second.init_write_log(&log).unwrap();
    second.set_layout([("p", GridCell::new(0, 0, 1, 1))]).unwrap();
    second.tandem_lines("p", 1.0, &[3.0], None, None).unwrap();
    drop(second);
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("starting over"), "{stderr}");
    assert_eq!(
        common::load_json(&out)["p"]["columns"]["x"][0],
        serde_json::json!([1.0]),
        "{stderr}"
    );
}
