"""Cross-language parity: the Python logger's logs show what the original
streamvis showed, and hold the same records as the Rust logger's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from _helpers import (
    PARITY_RUN_NAME,
    compare_exports,
    export,
    file_header_of,
    frames,
    load_scenario,
    masked_body,
    record_summary,
    replay,
    rust_log,
)


def test_viewer_shows_what_the_original_showed(scenario_path: Path, tmp_path: Path):
    scenario = load_scenario(scenario_path)
    log = tmp_path / "python.log"
    landed = replay(scenario, log)
    assert len(frames(log)) == landed, "every landed call is one record"
    errors = compare_exports(scenario["expected"], export(log, tmp_path / "export.json"))
    assert not errors, "\n".join(errors[:20])


def test_records_match_the_rust_logger(scenario_path: Path, tmp_path: Path):
    scenario = load_scenario(scenario_path)
    py_log = tmp_path / "python.log"
    replay(scenario, py_log)
    rs_log = rust_log(scenario_path, tmp_path / "rust.log")

    assert file_header_of(py_log) == file_header_of(rs_log)
    py, rs = frames(py_log), frames(rs_log)
    assert len(py) == len(rs), f"Python wrote {len(py)} records, Rust {len(rs)}"
    for i, ((py_head, py_body), (rs_head, rs_body)) in enumerate(zip(py, rs)):
        # Marker, kind, flags and body length; the CRCs cover the masked fields.
        assert py_head[:16] == rs_head[:16], f"record {i}: frame headers differ"
        assert masked_body(py_body) == masked_body(rs_body), f"record {i} (kind {py_head[4]}): bodies differ"
        assert record_summary(py_body)[1] == i, f"record {i}: sequence number"
    # One session per log; the run name is the parity run's.
    assert len({record_summary(body)[0] for _, body in py}) <= 1
    assert all(PARITY_RUN_NAME.encode() in body[:40] for _, body in py)


def _array(shape, rng, nan_every: int = 0) -> dict:
    values = rng.standard_normal(int(np.prod(shape))).astype(np.float32).astype(float).tolist()
    if nan_every:
        values[::nan_every] = [None] * len(values[::nan_every])
    return {"shape": list(shape), "values": values}


def test_generated_scenario_matches_the_rust_logger(tmp_path: Path):
    """A scenario beyond the parity set: non-ASCII names, NaN, every colour
    and grid encoding, a tensor large enough to be written straight from its
    memory between small records, and refused calls in between."""
    rng = np.random.default_rng(7)
    calls = [
        {"op": "clear"},
        {"op": "set_layout", "grid_map": {"ünï": [0, 0, 1, 2], "big": [1, 0, 1, 1], "c": [1, 1, 1, 1], "lines": [2, 0, 3, 2]}},
        {"op": "scatter", "plot": "ünï", "data": _array([2], rng), "spatial_dim": 0, "append": False},
        {"op": "tandem_lines", "plot": "ünï", "x": 2.5, "ys": [1.0, None, 3.0]},
        {"op": "scatter", "plot": "big", "data": _array([300_000, 2], rng, nan_every=1001), "spatial_dim": 1,
         "append": False, "color": {"palette": "Category10_10", "dim": 0}},
        {"op": "tandem_lines", "plot": "ünï", "x": 3, "ys": [1.0, 2.0, 3.0], "palette": "Category20_20",
         "names": ["train", "vål", ""]},
        {"op": "tandem_lines", "plot": "ünï", "x": 4, "ys": [1.5, 2.5, 3.5], "names": ["train", "vål", ""]},
        {"op": "tandem_lines", "plot": "ünï", "x": 5, "ys": [1.0, 2.0], "names": ["train", "val", "x"],
         "expect_error": "two values, three names"},
        {"op": "tandem_lines", "plot": "ünï", "x": 5, "ys": [1.0, 2.0, 3.0], "names": ["a", "b"],
         "expect_error": "three values, two names"},
        {"op": "tandem_lines", "plot": "ünï", "x": 6, "ys": [1.0, 2.0, 3.0], "names": ["a", "b", "c"]},
        {"op": "scatter", "plot": "c", "data": _array([2, 5, 3], rng), "spatial_dim": 2, "append": True,
         "color": {"palette": "Greys9"}, "grid": {"dim": 1, "num_columns": 2, "padding_factor": 0.7}},
        {"op": "scatter", "plot": "c", "data": _array([2, 5, 3], rng), "spatial_dim": 2, "append": True,
         "color": {"palette": "Viridis0256"}, "expect_error": "unknown palette"},
        {"op": "multi_lines", "plot": "lines", "data": _array([3, 4, 6, 2], rng), "line_dims": [1, 0],
         "spatial_dim": 3, "append": True, "color": {"palette": "Turbo256", "dim": 2},
         "grid": {"dim": 2, "num_columns": 3}},
        {"op": "multi_lines", "plot": "lines", "data": _array([4, 5, 2], rng), "line_dims": 0, "spatial_dim": 2,
         "append": False, "names": ["w", "x", "y", "z"]},
        {"op": "multi_lines", "plot": "lines", "data": _array([4, 5, 2], rng), "line_dims": 0, "spatial_dim": 2,
         "append": True, "names": ["w", "x", "y"], "expect_error": "four lines, three names"},
        {"op": "multi_lines", "plot": "lines", "data": _array([4, 5, 2], rng), "line_dims": [0, 0],
         "spatial_dim": 2, "append": False, "expect_error": "line_dims names dimension 0 twice"},
        {"op": "scatter", "plot": "nowhere", "data": _array([1, 2], rng), "spatial_dim": 1, "append": False,
         "expect_error": "plot not in layout"},
        {"op": "scatter", "plot": "big", "data": _array([7, 2], rng), "spatial_dim": 1, "append": True},
        {"op": "scatter", "plot": "big", "data": _array([0, 2], rng), "spatial_dim": 1, "append": True},
    ]
    scenario_path = tmp_path / "generated.json"
    scenario_path.write_text(json.dumps({"name": "generated", "calls": calls}))

    py_log = tmp_path / "python.log"
    landed = replay({"calls": calls}, py_log)
    rs_log = rust_log(scenario_path, tmp_path / "rust.log")
    py, rs = frames(py_log), frames(rs_log)
    # Every call that landed, and a LineNames record (kind 8) before each
    # whose names changed: the first "train, vål, ''", "a, b, c" and "w, x, y, z".
    names_records = sum(1 for head, _ in py if int.from_bytes(head[4:6], "little") == 8)
    assert names_records == 3
    assert len(py) == len(rs) == landed + names_records
    for i, ((py_head, py_body), (rs_head, rs_body)) in enumerate(zip(py, rs)):
        assert py_head[:16] == rs_head[:16], f"record {i}: frame headers differ"
        assert masked_body(py_body) == masked_body(rs_body), f"record {i}: bodies differ"
