//! Several runs: logs given together, or a directory of logs, read as runs
//! (one per run name and log), exported per run, filtered with `--run`.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `--export` of the logs with `extra` flags; the export, or stderr.
fn export(logs: &[&Path], extra: &[&str], out: &Path) -> Result<Value, String> {
    let mut args: Vec<&str> = Vec::new();
    for log in logs {
        args.extend(["--file", log.to_str().unwrap()]);
    }
    args.extend(["--no-follow", "--export", out.to_str().unwrap()]);
    args.extend(extra);
    let output = Command::new(common::bin("streamvis-gpu")).args(&args).output().unwrap();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(common::load_json(out))
}

#[test]
fn two_logs_are_two_runs_and_run_picks_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    common::test_app_log(&a, "A", 6);
    common::test_app_log(&b, "B", 9);
    let out = dir.path().join("out.json");
    let alone_a = export(&[&a], &[], &out).unwrap();
    let alone_b = export(&[&b], &[], &out).unwrap();
    assert!(alone_a.get("runs").is_none(), "one run keeps the single-run shape");
    assert_ne!(alone_a, alone_b);
    assert_eq!(export(&[&a, &b], &["--run", "A"], &out).unwrap(), alone_a);
    let both = export(&[&a, &b], &[], &out).unwrap();
    assert_eq!(both, serde_json::json!({ "runs": { "A": alone_a, "B": alone_b } }));
    // The same for a directory of both (and a file that is not a log).
    std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
    let dir_out = dir.path().join("dir.json");
    let args = [
        "--file",
        dir.path().to_str().unwrap(),
        "--no-follow",
        "--export",
        dir_out.to_str().unwrap(),
    ];
    let status = Command::new(common::bin("streamvis-gpu")).args(args).status().unwrap();
    assert!(status.success());
    assert_eq!(common::load_json(&dir_out), both);
    // --at-step K: step K of the longest run (B), every run at its own
    // step numbered K or the last before it.
    let at = export(&[&a, &b], &["--at-step", "3"], &out).unwrap();
    let a3 = export(&[&a], &["--at-step", "3"], &out).unwrap();
    let b3 = export(&[&b], &["--at-step", "3"], &out).unwrap();
    assert_eq!(at, serde_json::json!({ "runs": { "A": a3, "B": b3 } }));
    let at = export(&[&a, &b], &["--at-step", "7"], &out).unwrap();
    let b7 = export(&[&b], &["--at-step", "7"], &out).unwrap();
    assert_eq!(at, serde_json::json!({ "runs": { "A": alone_a, "B": b7 } }));
    let err = export(&[&a, &b], &["--at-step", "9"], &out).unwrap_err();
    assert!(err.contains("holds 9 steps (0 to 8) in its longest run"), "{err}");
}

#[test]
fn the_same_run_name_in_two_logs_is_two_labelled_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    common::test_app_log(&a, "same", 4);
    common::test_app_log(&b, "same", 5);
    let out = dir.path().join("out.json");
    let both = export(&[&a, &b], &[], &out).unwrap();
    let runs = both["runs"].as_object().expect("two runs");
    let labels: Vec<&String> = runs.keys().collect();
    assert_eq!(labels, ["same (a.log)", "same (b.log)"]);
    assert_eq!(runs["same (a.log)"], export(&[&a], &[], &out).unwrap());
    // A label picks one of them.
    let only_b = export(&[&a, &b], &["--run", "same (b.log)"], &out).unwrap();
    assert_eq!(only_b, export(&[&b], &[], &out).unwrap());
}

#[test]
fn a_followed_directory_picks_up_a_log_created_later() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    common::test_app_log(&logs.join("a.log"), "A", 3);
    common::test_app_log(&logs.join("b.log"), "B", 3);
    // Written beforehand, copied in once the viewer is following.
    let later = dir.path().join("c.log");
    common::test_app_log(&later, "C", 4);
    let out = dir.path().join("out.json");
    let mut viewer = common::Viewer::start(&[
        "--file",
        logs.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "5",
    ]);
    viewer.wait_for("caught up");
    std::fs::copy(&later, logs.join("c.log")).unwrap();
    viewer.wait_for("c.log\"");
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{stderr}");
    let export_of = |name: &str| export(&[&logs.join(name)], &[], &dir.path().join("one.json")).unwrap();
    let all = common::load_json(&out);
    assert_eq!(
        all,
        serde_json::json!({ "runs": { "A": export_of("a.log"), "B": export_of("b.log"), "C": export_of("c.log") } })
    );
}

#[test]
fn a_log_rewritten_while_followed_restarts_only_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.log"),
        dir.path().join("b.log"),
        dir.path().join("c.log"),
    );
    common::test_app_log(&a, "A", 3);
    common::test_app_log(&b, "B", 3);
    // Written beforehand, copied over b.log while it is followed.
    common::test_app_log(&c, "C", 4);
    let out = dir.path().join("out.json");
    let mut viewer = common::Viewer::start(&[
        "--file",
        a.to_str().unwrap(),
        "--file",
        b.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "5",
    ]);
    viewer.wait_for("caught up");
    std::fs::copy(&c, &b).unwrap();
    viewer.wait_for("starting over");
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{stderr}");
    let one = dir.path().join("one.json");
    assert_eq!(
        common::load_json(&out),
        serde_json::json!({ "runs": { "A": export(&[&a], &[], &one).unwrap(), "C": export(&[&c], &[], &one).unwrap() } })
    );
}

#[test]
fn a_followed_directory_removed_does_not_stop_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    common::test_app_log(&logs.join("a.log"), "A", 3);
    let out = dir.path().join("out.json");
    let mut viewer = common::Viewer::start(&[
        "--file",
        logs.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--stop-after-idle",
        "3",
    ]);
    viewer.wait_for("caught up");
    std::fs::copy(logs.join("a.log"), dir.path().join("a-copy.log")).unwrap();
    std::fs::remove_dir_all(&logs).unwrap();
    viewer.wait_for("cannot list");
    let (status, stderr) = viewer.finish();
    assert!(status.success(), "{stderr}");
    // What was read stays shown: the export of the log as it was.
    let copy = dir.path().join("a-copy.log");
    assert_eq!(
        common::load_json(&out),
        export(&[&copy], &[], &dir.path().join("one.json")).unwrap()
    );
}
