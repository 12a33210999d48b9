"""The log file: its header, version checks, appending to logs written by
Rust, torn tails, and timely flushing."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest

from _helpers import export, frames, masked_body, parity_files, record_summary, rust_log
from streamvis import ClosedError, DataLogger, LogFormatError, UnsupportedVersionError
from streamvis.format import FILE_HEADER_LEN, file_header, read_frames


def _header(major: int, minor: int) -> bytes:
    return struct.pack("<8sHHI", b"SVGPULOG", major, minor, 0)


def _log_one_plot(logger: DataLogger, name: str = "py") -> None:
    logger.clear()
    logger.set_layout({name: (0, 0, 1, 1)})
    logger.scatter(name, np.array([[1.0, 2.0], [3.0, 4.0]]), spatial_dim=1, append=False)


def test_new_file_gets_the_header(tmp_path: Path):
    log = tmp_path / "new.log"
    with DataLogger("run") as logger:
        logger.init_write_log(log)
    assert log.read_bytes() == file_header() == _header(1, 1)


@pytest.mark.parametrize("major", [0, 2, 0xFFFF])
def test_other_major_version_is_refused(tmp_path: Path, major: int):
    log = tmp_path / "future.log"
    log.write_bytes(_header(major, 0))
    logger = DataLogger("run")
    with pytest.raises(UnsupportedVersionError, match=rf"version {major}\.0 is not supported"):
        logger.init_write_log(log)
    assert log.read_bytes() == _header(major, 0), "a refused log is left alone"


def _log_format_1_0_script(logger: DataLogger) -> None:
    """The calls that wrote ``tests/data/format-1.0.log``."""
    from streamvis import ColorSpec

    logger.set_layout({"loss": (0, 0, 1, 1), "lines": (0, 1, 1, 1), "cloud": (1, 0, 1, 2)})
    rng = np.random.default_rng(3)
    for step in range(20):
        logger.tandem_lines("loss", step, [np.exp(-step / 5), np.exp(-step / 7) + 0.1], palette="Category10_10")
        logger.multi_lines(
            "lines",
            rng.normal(size=(3, 2, 5)).astype(np.float32),
            line_dims=0,
            spatial_dim=1,
            append=True,
            color=ColorSpec("Viridis256", dim=0),
        )
        logger.scatter(
            "cloud", rng.normal(size=(50, 3)).astype(np.float32), spatial_dim=1, append=False,
            color=ColorSpec("Viridis256"),
        )
        logger.end_step()


def test_calls_without_names_write_what_format_1_0_wrote(tmp_path: Path):
    """A log of format 1.0 (written before line names existed): the same
    calls today write the same records, so old and new logs read alike."""
    old = Path(__file__).resolve().parents[2] / "tests" / "data" / "format-1.0.log"
    assert file_header_bytes(old) == _header(1, 0)
    new = tmp_path / "new.log"
    with DataLogger("old") as logger:
        logger.init_write_log(new)
        _log_format_1_0_script(logger)
    old_frames, new_frames = frames(old), frames(new)
    assert len(old_frames) == len(new_frames) == 81
    for i, ((old_head, old_body), (new_head, new_body)) in enumerate(zip(old_frames, new_frames)):
        assert old_head[:16] == new_head[:16], f"record {i}: frame headers differ"
        assert masked_body(old_body) == masked_body(new_body), f"record {i}: bodies differ"


def file_header_bytes(log: Path) -> bytes:
    return log.read_bytes()[:FILE_HEADER_LEN]


def test_newer_minor_version_is_appended_to(tmp_path: Path):
    log = tmp_path / "minor.log"
    log.write_bytes(_header(1, 7))
    with DataLogger("run") as logger:
        logger.init_write_log(log)
        _log_one_plot(logger)
    assert len(list(read_frames(log.read_bytes()))) == 3


@pytest.mark.parametrize("content", [b"hello world, not a log", b"SVGPU", b"SVGPULOG\x01\x00"])
def test_non_logs_are_refused(tmp_path: Path, content: bytes):
    path = tmp_path / "other.txt"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match="not a streamvis-gpu log"):
        DataLogger("run").init_write_log(path)
    assert path.read_bytes() == content


def _seed_demo_scenario() -> Path:
    files = [f for f in parity_files() if f.stem == "seed_demo"]
    return files[0] if files else parity_files()[0]


def test_appends_to_a_log_written_by_rust(tmp_path: Path):
    log = rust_log(_seed_demo_scenario(), tmp_path / "shared.log")
    rust_frames = frames(log)
    # The Rust logger's run name: one run, two sessions (a restarted app).
    with DataLogger("parity") as logger:
        logger.init_write_log(log)
        _log_one_plot(logger)

    all_frames = frames(log)
    assert all_frames[: len(rust_frames)] == rust_frames, "the Rust records are untouched"
    sessions = [record_summary(body) for _, body in all_frames]
    python_session = sessions[-1][0]
    assert [seq for sid, seq in sessions if sid == python_session] == [0, 1, 2]
    assert len({sid for sid, _ in sessions}) == 2
    # The viewer reads both sessions' records in order, as one run: the
    # clear dropped the Rust plots.
    shown = export(log, tmp_path / "export.json")
    assert list(shown) == ["py"]
    assert shown["py"]["columns"]["x"] == [1.0, 3.0]


def test_a_torn_tail_is_padded_and_skipped(tmp_path: Path):
    log = rust_log(_seed_demo_scenario(), tmp_path / "torn.log")
    data = log.read_bytes()
    last = list(read_frames(data))[-1]
    cut = last.offset + 24 + 13  # mid-body: a writer crashed
    log.write_bytes(data[:cut])

    with DataLogger("parity") as logger:
        logger.init_write_log(log)
        _log_one_plot(logger, "after_crash")

    grown = log.read_bytes()
    assert grown[:cut] == data[:cut]
    padded = -(-cut // 8) * 8
    assert grown[cut:padded] == bytes(padded - cut), "zero padding up to 8 bytes"
    assert grown[padded : padded + 4] == b"SVRC"
    assert list(export(log, tmp_path / "export.json")) == ["after_crash"]


def test_records_reach_the_file_without_flush(tmp_path: Path):
    log = tmp_path / "timely.log"
    logger = DataLogger("run")
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    started = time.monotonic()
    while log.stat().st_size == FILE_HEADER_LEN:
        assert time.monotonic() - started < 2.0, "nothing written by the background flush"
        time.sleep(0.005)
    assert time.monotonic() - started < 0.5
    logger.close()


def test_flushes_on_close_and_refuses_calls_after(tmp_path: Path):
    log = tmp_path / "closed.log"
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    assert log.stat().st_size == FILE_HEADER_LEN, "nothing flushed yet"
    logger.close()
    assert len(frames(log)) == 1
    assert logger.closed
    logger.close()  # a second close does nothing


@pytest.mark.parametrize(
    "call",
    [
        lambda lg, tmp: lg.flush(),
        lambda lg, tmp: lg.clear(),
        lambda lg, tmp: lg.end_step(),
        lambda lg, tmp: lg.set_layout({"p": (0, 0, 1, 1)}),
        # Refused for being closed before the arguments are looked at.
        lambda lg, tmp: lg.set_layout({"": (0, 0, 0, 0)}),
        lambda lg, tmp: lg.scatter("p", np.ones((3, 2)), 1, False),
        lambda lg, tmp: lg.scatter("nope", np.ones((3, 5)), 7, False),
        lambda lg, tmp: lg.multi_lines("p", np.ones((2, 3, 2)), 0, 2, False),
        lambda lg, tmp: lg.tandem_lines("p", 0, [1.0]),
        lambda lg, tmp: lg.init_write_log(tmp / "other.log"),
        lambda lg, tmp: lg.init_pubsub("project", "topic"),
    ],
    ids=["flush", "clear", "end_step", "set_layout", "bad set_layout", "scatter", "bad scatter", "multi_lines",
         "tandem_lines", "init_write_log", "init_pubsub"],
)
def test_every_call_after_close_raises_closed_error(tmp_path: Path, call):
    log = tmp_path / "closed.log"
    logger = DataLogger("run")
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    logger.close()
    size = log.stat().st_size
    with pytest.raises(ClosedError, match="the logger is closed"):
        call(logger, tmp_path)
    assert log.stat().st_size == size
    assert not (tmp_path / "other.log").exists(), "a closed logger opens nothing"


def test_a_forgotten_logger_is_flushed_when_collected(tmp_path: Path):
    log = tmp_path / "gc.log"
    logger = DataLogger("run", flush_interval=3600)
    logger.init_write_log(log)
    logger.set_layout({"p": (0, 0, 1, 1)})
    del logger
    import gc

    gc.collect()
    assert len(frames(log)) == 1


def test_two_loggers_share_a_file(tmp_path: Path):
    log = tmp_path / "shared.log"
    loggers = [DataLogger(f"run{i}") for i in range(2)]
    for logger in loggers:
        logger.init_write_log(log)
    for step in range(20):
        for logger in loggers:
            logger.set_layout({"p": (0, 0, 1, 1)})
            logger.scatter("p", np.random.randn(300_000 if step % 7 == 0 else 10, 2), 1, False)
    for logger in loggers:
        logger.close()
    sessions = [record_summary(body) for _, body in frames(log)]
    for logger in loggers:
        assert [seq for sid, seq in sessions if sid == logger.session_id] == list(range(40))
