//! `--at-step K`: the plots right after step K equal those of the log cut
//! right after step K, for logs with and without step markers, replaced
//! and appended plots, and a `clear()` on the way.

mod common;

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use streamvis_gpu::format::{FrameScanner, RecordBody, StreamEvent};
use streamvis_gpu::{DataLogger, GridCell, TensorView};

/// The byte offset where each step ends, by the rule the test names: after
/// each marker; before a record for a plot already updated in the step
/// (and the log's end, if data follows the last boundary); after each
/// update of one plot.
fn step_ends(log: &Path, rule: &str) -> Vec<u64> {
    let bytes = Bytes::from(std::fs::read(log).unwrap());
    let mut scanner = FrameScanner::for_file();
    let mut ends = Vec::new();
    let mut updated: Vec<String> = Vec::new();
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        let StreamEvent::Record { offset, record } = event else {
            panic!("damaged test log")
        };
        let end = scanner.position();
        match (rule, &record.body) {
            ("markers", RecordBody::Step(_)) => ends.push(end),
            ("repeats", body) => {
                if let Some(plot) = body.plot_name() {
                    if updated.iter().any(|p| p == plot) {
                        ends.push(offset);
                        updated.clear();
                    }
                    updated.push(plot.to_owned());
                }
            }
            (plot, body) if body.plot_name() == Some(plot) => ends.push(end),
            _ => {}
        }
    }
    if rule == "repeats" && !updated.is_empty() {
        ends.push(bytes.len() as u64);
    }
    ends
}

fn viewer(args: &[&str]) -> std::process::Output {
    Command::new(common::bin("streamvis-gpu")).args(args).output().unwrap()
}

fn export(log: &Path, extra: &[&str]) -> Result<serde_json::Value, String> {
    let out = log.with_extension(format!("{}.json", extra.join("_").replace(['-', '.'], "")));
    let mut args = vec![
        "--file",
        log.to_str().unwrap(),
        "--no-follow",
        "--export",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let output = viewer(&args);
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(common::load_json(&out))
}

/// `--at-step k` of `log` against the export of `log` cut at the end of
/// step k, for every k in `steps`.
fn check(log: &Path, rule: &str, extra: &[&str], steps: &[usize]) {
    let ends = step_ends(log, rule);
    let bytes = std::fs::read(log).unwrap();
    let mut seen: Vec<serde_json::Value> = Vec::new();
    for &k in steps {
        let cut = log.with_extension(format!("cut{k}.log"));
        std::fs::write(&cut, &bytes[..ends[k] as usize]).unwrap();
        let k_text = k.to_string();
        let mut args = vec!["--at-step", k_text.as_str()];
        args.extend(extra);
        let at = export(log, &args).unwrap();
        assert_eq!(at, export(&cut, &[]).unwrap(), "{log:?} at step {k} ({rule})");
        assert!(
            !seen.contains(&at),
            "{log:?}: step {k} shows what an earlier step showed"
        );
        seen.push(at);
    }
}

/// Without markers: a replaced cloud, an appended one and a tandem loss
/// each step, and a clear (with a new layout) after step 4.
fn unmarked_log(path: &Path) {
    let mut logger = DataLogger::new("unmarked");
    logger.init_write_log(path).unwrap();
    let layout = [
        ("loss", GridCell::new(0, 0, 1, 1)),
        ("cloud", GridCell::new(0, 1, 1, 1)),
        ("trail", GridCell::new(1, 0, 1, 2)),
    ];
    logger.set_layout(layout).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    for step in 0..10 {
        if step == 5 {
            logger.clear().unwrap();
            logger.set_layout(layout).unwrap();
        }
        logger
            .tandem_lines("loss", step as f64, &[1.0 / (1.0 + step as f32), rng.f32()], None)
            .unwrap();
        let cloud: Vec<f32> = (0..200).map(|_| rng.f32()).collect();
        logger
            .scatter("cloud", TensorView::new(&[100, 2], &cloud), 1, false, None, None)
            .unwrap();
        let trail: Vec<f32> = (0..20).map(|_| rng.f32() + step as f32).collect();
        logger
            .scatter("trail", TensorView::new(&[10, 2], &trail), 1, true, None, None)
            .unwrap();
    }
}

#[test]
fn at_step_equals_the_log_cut_after_that_step() {
    let dir = tempfile::tempdir().unwrap();
    // With markers: the test app ends every step with `end_step()`.
    let marked = dir.path().join("marked.log");
    let status = Command::new(common::bin("streamvis-test-app"))
        .args([
            "file",
            "marked",
            marked.to_str().unwrap(),
            "--steps",
            "12",
            "--interval-ms",
            "0",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    check(&marked, "markers", &[], &[0, 1, 5, 11]);
    // Without markers, by plot repeats (10 steps), and by one plot.
    let unmarked = dir.path().join("unmarked.log");
    unmarked_log(&unmarked);
    assert_eq!(step_ends(&unmarked, "repeats").len(), 10);
    check(&unmarked, "repeats", &[], &[0, 3, 4, 5, 6, 9]);
    check(&unmarked, "cloud", &["--step-plot", "cloud"], &[0, 4, 5, 9]);
    // `last` is the whole log.
    assert_eq!(
        export(&unmarked, &["--at-step", "last"]).unwrap(),
        export(&unmarked, &[]).unwrap()
    );
}

#[test]
fn a_step_out_of_range_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("unmarked.log");
    unmarked_log(&log);
    let err = export(&log, &["--at-step", "10"]).unwrap_err();
    assert!(err.contains("--at-step 10 is out of range"), "{err}");
    assert!(err.contains("holds 10 steps (0 to 9)"), "{err}");
}
