//! The file transport end to end, with the real binaries.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use streamvis_gpu::format::{FrameScanner, StreamEvent};

/// Two processes append ~10,000 records each to one file; all are read back
/// intact, each session's sequence complete and in order.
#[test]
fn two_processes_append_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("shared.log");
    let spawn = |run: &str| {
        Command::new(common::bin("streamvis-test-app"))
            .args([
                "file",
                run,
                log.to_str().unwrap(),
                "--steps",
                "2000",
                "--interval-ms",
                "0",
            ])
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("first"), spawn("second"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());

    let bytes = Bytes::from(std::fs::read(&log).unwrap());
    let mut scanner = FrameScanner::for_file();
    let mut per_session: std::collections::HashMap<u64, Vec<u64>> = Default::default();
    let mut total = 0;
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        match event {
            StreamEvent::Record { record, .. } => {
                per_session
                    .entry(record.meta.session_id)
                    .or_default()
                    .push(record.meta.seq);
                total += 1;
            }
            StreamEvent::Corrupt { offset, error } => panic!("corrupt record at {offset}: {error}"),
        }
    }
    assert_eq!(scanner.position(), bytes.len() as u64);
    // Each process: clear, layout, then 2000 steps of 4 calls and a step marker.
    let per_process = 2 + 2000 * 5;
    assert_eq!(total, 2 * per_process);
    assert_eq!(per_session.len(), 2);
    for seqs in per_session.values() {
        assert_eq!(*seqs, (0..per_process as u64).collect::<Vec<_>>());
    }
}

/// A follower reading while the test app writes ends with the same export as
/// reading the finished file.
#[test]
fn follower_export_equals_export_of_the_finished_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let followed = dir.path().join("followed.json");
    let finished = dir.path().join("finished.json");
    // The follower starts first: the file does not exist yet.
    let mut follower = Command::new(common::bin("streamvis-gpu"))
        .args([
            "--file",
            log.to_str().unwrap(),
            "--export",
            followed.to_str().unwrap(),
            "--stop-after-idle",
            "2",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new(common::bin("streamvis-test-app"))
        .args([
            "file",
            "e2e",
            log.to_str().unwrap(),
            "--steps",
            "30",
            "--interval-ms",
            "20",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(follower.wait().unwrap().success());
    let status = Command::new(common::bin("streamvis-gpu"))
        .args([
            "--file",
            log.to_str().unwrap(),
            "--no-follow",
            "--export",
            finished.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let followed = common::load_json(&followed);
    let finished = common::load_json(&finished);
    assert_eq!(followed, finished);
    // The seed example's four plots, with 30 points on each tandem line.
    let names: Vec<&String> = finished.as_object().unwrap().keys().collect();
    assert_eq!(names, ["bottom_left", "bottom_right", "top_left", "top_right"]);
    assert_eq!(finished["top_left"]["columns"]["x"][2].as_array().unwrap().len(), 30);
    assert_eq!(finished["top_right"]["columns"]["x"].as_array().unwrap().len(), 20 * 50);
}

/// Truncated and corrupted copies of a real log export without a panic and
/// keep every intact record.
#[test]
fn damaged_logs_export_what_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let status = Command::new(common::bin("streamvis-test-app"))
        .args([
            "file",
            "dmg",
            log.to_str().unwrap(),
            "--steps",
            "5",
            "--interval-ms",
            "0",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let original = std::fs::read(&log).unwrap();
    // Byte ranges of the original's frames.
    let mut frames = Vec::new();
    let mut scanner = FrameScanner::for_file();
    let bytes = Bytes::from(original.clone());
    loop {
        let start = scanner.position();
        match scanner.next_event(&bytes, 0).unwrap() {
            Some(StreamEvent::Record { offset, .. }) => frames.push(offset..scanner.position()),
            None => break,
            Some(other) => panic!("{other:?} at {start}"),
        }
    }
    let mut rng = fastrand::Rng::with_seed(11);
    for trial in 0..12 {
        let mut damaged = original.clone();
        let mut flipped = Vec::new();
        if trial % 2 == 0 {
            damaged.truncate(rng.usize(16..original.len()));
        } else {
            for _ in 0..3 {
                let at = rng.usize(16..damaged.len());
                damaged[at] ^= 1 << rng.u8(0..8);
                flipped.push(at as u64);
            }
        }
        let intact = frames
            .iter()
            .filter(|f| f.end as usize <= damaged.len() && !flipped.iter().any(|at| f.contains(at)))
            .count();
        let mut scanner = FrameScanner::for_file();
        let damaged_bytes = Bytes::from(damaged.clone());
        let mut decoded = 0;
        while let Some(event) = scanner.next_event(&damaged_bytes, 0).unwrap() {
            decoded += matches!(event, StreamEvent::Record { .. }) as usize;
        }
        assert_eq!(decoded, intact, "trial {trial}: every intact record is kept");
        let path = dir.path().join(format!("damaged{trial}.log"));
        std::fs::write(&path, &damaged).unwrap();
        let out = dir.path().join(format!("damaged{trial}.json"));
        let output = Command::new(common::bin("streamvis-gpu"))
            .args([
                "--file",
                path.to_str().unwrap(),
                "--no-follow",
                "--export",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        if trial % 2 == 1 {
            assert!(
                stderr.contains("byte offset"),
                "trial {trial}: a warning names the offset: {stderr}"
            );
        }
        assert!(out.exists());
    }
}

/// `tests/data/format-1.0.log`, written by the Python logger of format 1.0
/// (before line names): three plots over 20 steps. It reads whole, with no
/// warning. (The Python tests check that today's logger writes the same
/// records for the same calls.)
#[test]
fn a_log_of_format_1_0_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format-1.0.log");
    let out = dir.path().join("old.json");
    let output = Command::new(common::bin("streamvis-gpu"))
        .args(["--file", old.to_str().unwrap(), "--no-follow", "--export"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("WARN"), "{stderr}");
    let json = common::load_json(&out);
    let loss = &json["loss"];
    assert_eq!(loss["columns"]["y"].as_array().unwrap().len(), 2);
    assert_eq!(loss["columns"]["y"][0].as_array().unwrap().len(), 20);
    assert!(loss.get("names").is_none());
    assert_eq!(json["lines"]["columns"]["x"][2].as_array().unwrap().len(), 100);
    assert_eq!(json["cloud"]["columns"]["x"].as_array().unwrap().len(), 50);
    let records = common::records_of(&old);
    assert_eq!(records.len(), 1 + 20 * 4);
    let bytes = std::fs::read(&old).unwrap();
    assert_eq!(&bytes[8..12], &[1, 0, 0, 0], "major 1, minor 0");
}

/// Lines named through the logger keep their names through the log: the
/// export lists them; old calls without names export none.
#[test]
fn line_names_reach_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("names.log");
    let mut logger = streamvis_gpu::DataLogger::new("names");
    logger.init_write_log(&log).unwrap();
    let cell = |left| streamvis_gpu::GridCell::new(0, left, 1, 1);
    logger
        .set_layout([("loss", cell(0)), ("lines", cell(1)), ("plain", cell(2))])
        .unwrap();
    for step in 0..5 {
        let ys = [1.0 / (step + 1) as f32, 0.5];
        logger
            .tandem_lines("loss", step as f64, &ys, None, Some(&["train", "val"]))
            .unwrap();
        logger.tandem_lines("plain", step as f64, &ys, None, None).unwrap();
    }
    let data = [0.0f32; 12];
    let view = streamvis_gpu::TensorView::new(&[3, 2, 2], &data);
    logger
        .multi_lines("lines", view, &[0], 1, false, None, None, Some(&["a", "b", "c"]))
        .unwrap();
    drop(logger);
    let out = dir.path().join("names.json");
    let status = Command::new(common::bin("streamvis-gpu"))
        .args(["--file", log.to_str().unwrap(), "--no-follow", "--export"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let json = common::load_json(&out);
    assert_eq!(json["loss"]["names"], serde_json::json!(["train", "val"]));
    assert_eq!(json["lines"]["names"], serde_json::json!(["a", "b", "c"]));
    assert!(json["plain"].get("names").is_none());
}
