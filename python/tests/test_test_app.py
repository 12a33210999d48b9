"""`python -m streamvis.test_app` mirrors the Rust `streamvis-test-app`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import streamvis
from _helpers import REPO, _binary, export, frames, masked_body, run
from streamvis.format import RecordKind
from streamvis.test_app import main


def test_file_mode_logs_the_four_plots(tmp_path: Path):
    log = tmp_path / "app.log"
    assert main(["file", "myapp", str(log), "--steps", "3", "--interval-ms", "0", "--seed", "5"]) == 0
    kinds = [head[4] for head, _ in frames(log)]
    step = [RecordKind.TANDEM_LINES, RecordKind.SCATTER, RecordKind.SCATTER, RecordKind.SCATTER, RecordKind.STEP]
    assert kinds == [RecordKind.CLEAR, RecordKind.LAYOUT] + step * 3
    assert sorted(export(log, tmp_path / "export.json")) == ["bottom_left", "bottom_right", "top_left", "top_right"]


def test_records_are_shaped_like_the_rust_test_apps(tmp_path: Path):
    """Same records with the same fields and shapes; only the random numbers
    (and session ids and times) differ."""
    rust_app = _binary("STREAMVIS_TEST_APP_BIN", REPO / "target/debug/streamvis-test-app", "cargo build --bins")
    rs_log, py_log = tmp_path / "rust.log", tmp_path / "python.log"
    run([rust_app, "file", "myapp", rs_log, "--steps", "2", "--interval-ms", "0"])
    assert main(["file", "myapp", str(py_log), "--steps", "2", "--interval-ms", "0"]) == 0
    rs, py = frames(rs_log), frames(py_log)
    assert [h[:16] for h, _ in py] == [h[:16] for h, _ in rs], "kinds and body lengths"
    for (head, py_body), (_, rs_body) in zip(py, rs):
        if head[4] in (RecordKind.CLEAR, RecordKind.LAYOUT, RecordKind.STEP):
            assert masked_body(py_body) == masked_body(rs_body)


def test_command_line(tmp_path: Path):
    log = tmp_path / "cli.log"
    package_root = str(Path(streamvis.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": package_root}
    args = [sys.executable, "-m", "streamvis.test_app", "--steps", "1", "file", "run", str(log), "--interval-ms", "0"]
    subprocess.run(args, check=True, env=env, timeout=60)
    assert len(frames(log)) == 2 + 5
    bad = subprocess.run([sys.executable, "-m", "streamvis.test_app", "file"], env=env, capture_output=True)
    assert bad.returncode == 2 and b"usage" in bad.stderr
