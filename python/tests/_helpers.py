"""Shared by the tests: parity scenarios, the Rust binaries, log parsing and
export comparison."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pytest

from streamvis import ColorSpec, DataLogger, GridSpec
from streamvis.errors import CallError
from streamvis.format import FILE_HEADER_LEN, FRAME_HEADER_LEN, read_frames

REPO = Path(__file__).resolve().parents[2]

#: The run name every parity log uses (the Rust ``parity_log`` example's).
PARITY_RUN_NAME = "parity"


def parity_dir() -> Path:
    """``$STREAMVIS_PARITY_DIR``, or the repository's parity scenarios."""
    return Path(os.environ.get("STREAMVIS_PARITY_DIR", REPO / "tests" / "data" / "parity"))


def parity_files() -> list[Path]:
    """Every ``*.json`` scenario in the parity directory, sorted by name."""
    files = sorted(parity_dir().glob("*.json"))
    assert files, f"no parity scenarios in {parity_dir()}"
    return files


def load_scenario(path: Path) -> dict:
    return json.loads(path.read_text())


def _binary(env: str, default: Path, build: str) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_file():
        pytest.skip(f"{path} is not built (run `{build}` in {REPO}, or set {env})")
    return path


def viewer_bin() -> Path:
    """The ``streamvis-gpu`` viewer binary."""
    return _binary("STREAMVIS_GPU_BIN", REPO / "target/debug/streamvis-gpu", "cargo build --bins")


def parity_log_bin() -> Path:
    """The Rust ``parity_log`` example binary."""
    return _binary(
        "STREAMVIS_PARITY_LOG_BIN", REPO / "target/debug/examples/parity_log", "cargo build --examples"
    )


def run(args: list, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs a command; fails the test with its output if it fails."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{args} exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def export(log: Path, out: Path) -> dict:
    """What the viewer shows at the end of ``log``, via ``--export``."""
    run([viewer_bin(), "--file", log, "--no-follow", "--export", out])
    return json.loads(out.read_text())


def rust_log(scenario: Path, out: Path) -> Path:
    """Replays ``scenario`` through the Rust logger into ``out``."""
    run([parity_log_bin(), scenario, out])
    return out


# Replaying scenarios with the Python logger.


def _values(values: Iterable[Optional[float]]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def tensor(value: dict) -> np.ndarray:
    """A float32 array from ``{shape, values}`` (``null`` is NaN)."""
    return np.array(_values(value["values"]), dtype=np.float32).reshape(value["shape"])


def _color(call: dict) -> Optional[ColorSpec]:
    c = call.get("color")
    return None if c is None else ColorSpec(c["palette"], c.get("dim"))


def _grid(call: dict) -> Optional[GridSpec]:
    g = call.get("grid")
    if g is None:
        return None
    if g.get("padding_factor") is None:
        return GridSpec(g["dim"], g["num_columns"])
    return GridSpec(g["dim"], g["num_columns"], g["padding_factor"])


def apply_call(logger: DataLogger, call: dict) -> None:
    """Makes one scenario call on the logger, with the seed README's keyword
    names."""
    op = call["op"]
    if op == "clear":
        logger.clear()
    elif op == "set_layout":
        logger.set_layout({name: tuple(cell) for name, cell in call["grid_map"].items()})
    elif op == "scatter":
        logger.scatter(
            plot_name=call["plot"],
            data=tensor(call["data"]),
            spatial_dim=call["spatial_dim"],
            append=call.get("append", False),
            color=_color(call),
            grid=_grid(call),
        )
    elif op == "multi_lines":
        logger.multi_lines(
            plot_name=call["plot"],
            data=tensor(call["data"]),
            line_dims=call["line_dims"],
            spatial_dim=call["spatial_dim"],
            append=call.get("append", False),
            color=_color(call),
            grid=_grid(call),
            names=call.get("names"),
        )
    elif op == "tandem_lines":
        logger.tandem_lines(
            call["plot"], call["x"], _values(call["ys"]), palette=call.get("palette"), names=call.get("names")
        )
    else:
        raise AssertionError(f"unknown op {op}")


def replay(scenario: dict, log: Path) -> int:
    """Replays a scenario with the Python logger into ``log``, checking that
    calls marked ``expect_error`` are refused without leaving bytes, and
    that every other call writes. Returns the number of calls that landed."""
    landed = 0
    with DataLogger(PARITY_RUN_NAME) as logger:
        logger.init_write_log(log)
        for i, call in enumerate(scenario["calls"]):
            logger.flush()
            before = log.stat().st_size
            if "expect_error" in call:
                with pytest.raises(CallError) as refused:
                    apply_call(logger, call)
                assert str(refused.value), f"call {i} refused without a message"
                logger.flush()
                assert log.stat().st_size == before, f"call {i} was refused but left bytes in the log"
            else:
                apply_call(logger, call)
                logger.flush()
                assert log.stat().st_size > before, f"call {i} wrote nothing"
                landed += 1
    return landed


# Parsing logs.


def frames(log: Path) -> list[tuple[bytes, bytes]]:
    """``(frame header, body)`` of every frame of a log, checksums verified."""
    data = log.read_bytes()
    return [
        (bytes(data[f.offset : f.offset + FRAME_HEADER_LEN]), bytes(f.body)) for f in read_frames(data)
    ]


def masked_body(body: bytes) -> bytes:
    """A body with its session id (bytes 0..8) and wall time (16..24) zeroed."""
    return bytes(8) + body[8:16] + bytes(8) + body[24:]


def record_summary(body: bytes) -> tuple[int, int]:
    """``(session id, sequence number)`` of a body."""
    return int.from_bytes(body[0:8], "little"), int.from_bytes(body[8:16], "little")


def file_header_of(log: Path) -> bytes:
    with open(log, "rb") as f:
        return f.read(FILE_HEADER_LEN)


# Comparing exports.


def _max_magnitude(value: Any) -> float:
    if isinstance(value, list):
        return max((_max_magnitude(v) for v in value), default=0.0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(float(value))
    return 0.0


def _compare_values(path: str, expected: Any, actual: Any, tol: float, errors: list[str]) -> None:
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            errors.append(f"{path}: expected {len(expected)} entries, got {len(actual)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare_values(f"{path}[{i}]", e, a, tol, errors)
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if abs(expected - actual) > tol:
            errors.append(f"{path}: expected {expected}, got {actual}")
    elif expected is None and actual is None:
        pass  # NaN is written as null
    else:
        errors.append(f"{path}: expected {expected!r}, got {actual!r}")


def compare_exports(expected: dict, actual: dict) -> list[str]:
    """Differences between a parity ``expected`` and an export: plots,
    kinds, palettes, layouts, and every column within 1e-4 of its largest
    magnitude."""
    errors: list[str] = []
    if sorted(expected) != sorted(actual):
        return [f"plots: expected {sorted(expected)}, got {sorted(actual)}"]
    for name, ep in expected.items():
        ap = actual[name]
        for key in ("kind", "palette", "layout"):
            if ep[key] != ap[key]:
                errors.append(f"{name}.{key}: expected {ep[key]!r}, got {ap[key]!r}")
        ec, ac = ep["columns"], ap["columns"]
        if sorted(ec) != sorted(ac):
            errors.append(f"{name}.columns: expected {sorted(ec)}, got {sorted(ac)}")
            continue
        for col, ev in ec.items():
            tol = 1e-4 * max(_max_magnitude(ev), 1e-30)
            _compare_values(f"{name}.{col}", ev, ac[col], tol, errors)
    return errors
