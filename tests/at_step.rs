//! `--at-step K`: the plots right after step K equal those of the log cut
//! right after step K, for logs with and without step markers, replaced
//! and appended plots, and a `clear()` on the way.

mod common;

use std::path::Path;
use std::process::Command;

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
    let ends = common::step_ends(log, rule);
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
    common::unmarked_log(&unmarked);
    assert_eq!(common::step_ends(&unmarked, "repeats").len(), 10);
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
    common::unmarked_log(&log);
    let err = export(&log, &["--at-step", "10"]).unwrap_err();
    assert!(err.contains("--at-step 10 is out of range"), "{err}");
    assert!(err.contains("holds 10 steps (0 to 9)"), "{err}");
}
