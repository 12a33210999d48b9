"""A logger carried into a child by ``os.fork()``: the child becomes a new
session, the parent's pending records are written once, by the parent."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from _helpers import frames, record_summary, viewer_bin
from streamvis import DataLogger

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")


def _fork(child) -> int:
    """Runs ``child()`` in a forked process that exits with its return value
    (1 if it raised) without returning into pytest; returns the pid."""
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a process with threads (the flusher).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child()
        finally:
            os._exit(code)
    return pid


def _wait(pid: int, timeout_secs: float = 20.0) -> int:
    """The child's exit status; kills it and fails if it hangs."""
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


def _sessions(log: Path) -> dict[int, list[int]]:
    """Sequence numbers of each session, in file order."""
    seqs: dict[int, list[int]] = {}
    for _, body in frames(log):
        session_id, seq = record_summary(body)
        seqs.setdefault(session_id, []).append(seq)
    return seqs


def test_a_forked_child_is_a_new_session_and_pending_records_are_written_once(tmp_path: Path):
    log = tmp_path / "fork.log"
    # No background flush: the records stay pending across the fork.
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    for step in range(5):
        logger.tandem_lines("p", step, [float(step)])
    parent_session = logger.session_id
    assert len(frames(log)) == 0, "the parent's records are pending at the fork"

    def child() -> int:
        if logger.session_id == parent_session:
            return 2
        for step in range(3):
            logger.tandem_lines("p", 100 + step, [-1.0])
        logger.close()
        return 0

    pid = _fork(child)
    assert _wait(pid) == 0
    assert logger.session_id == parent_session, "the parent keeps its session"
    for step in range(5, 8):
        logger.tandem_lines("p", step, [float(step)])
    logger.close()

    sessions = _sessions(log)
    assert sessions.pop(parent_session) == list(range(9)), "the parent's records, each once, in order"
    assert list(sessions.values()) == [[0, 1, 2]], "the child's records under one new session, from seq 0"
    assert len(frames(log)) == 12


def _log_in_worker(logger: DataLogger) -> None:
    logger.tandem_lines("p", 1, [2.0])  # pending when the worker ends


def test_a_multiprocessing_worker_flushes_when_it_ends(tmp_path: Path):
    # multiprocessing ends a forked worker with os._exit, past atexit.
    import multiprocessing

    log = tmp_path / "worker.log"
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        worker = multiprocessing.get_context("fork").Process(target=_log_in_worker, args=(logger,))
        worker.start()
    worker.join(20)
    assert worker.exitcode == 0
    logger.close()
    sessions = _sessions(log)
    assert sessions.pop(logger.session_id) == [0]
    assert list(sessions.values()) == [[0]], "the worker's record, under its own session"


def test_the_child_locks_the_file_apart_from_the_parent(tmp_path: Path):
    # flock locks belong to the open file description: a child writing
    # through the parent's would not be excluded by the parent's lock.
    import fcntl

    log = tmp_path / "lock.log"
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    parent_fd = logger._shared.sinks[0]._fd

    def child() -> int:
        try:
            fcntl.flock(logger._shared.sinks[0]._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        return 3

    fcntl.flock(parent_fd, fcntl.LOCK_EX)
    try:
        pid = _fork(child)
        assert _wait(pid) == 0, "the child's descriptor is not locked by the parent's lock"
    finally:
        fcntl.flock(parent_fd, fcntl.LOCK_UN)
    logger.close()


def test_a_lock_held_by_another_thread_at_the_fork_does_not_hang_the_child(tmp_path: Path):
    log = tmp_path / "held.log"
    logger = DataLogger("run")  # with its background flusher
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with logger._shared.lock:
            held.set()
            release.wait()

    parent_session = logger.session_id
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()

    def child() -> int:
        logger.scatter("p", np.ones((4, 2)), 1, False)
        time.sleep(0.2)  # the child's own flusher writes it
        return 0 if _sessions(log).get(logger.session_id) == [0] and logger.session_id != parent_session else 4

    try:
        pid = _fork(child)
        assert _wait(pid) == 0
    finally:
        release.set()
        holder.join()
    logger.close()
    sessions = _sessions(log)
    assert sessions.pop(logger.session_id) == [0]
    assert list(sessions.values()) == [[0]]


def test_the_viewer_shows_the_records_of_parent_and_child(tmp_path: Path):
    viewer = viewer_bin()  # skips without the Rust build
    from _helpers import export

    log = tmp_path / "shown.log"
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    logger.flush()  # the viewer skips a plot's records before its layout
    logger.tandem_lines("p", 0, [1.0])  # pending at the fork

    def child() -> int:
        logger.tandem_lines("p", 1, [2.0])
        logger.close()
        return 0

    assert _wait(_fork(child)) == 0
    logger.tandem_lines("p", 2, [3.0])
    logger.close()
    assert viewer.is_file()
    shown = export(log, tmp_path / "export.json")
    # In file order: the layout, the child's point, then the parent's two
    # (written at close); none twice.
    assert shown["p"]["columns"]["x"] == [[1.0, 0.0, 2.0]]
    assert shown["p"]["columns"]["y"] == [[2.0, 1.0, 3.0]]
