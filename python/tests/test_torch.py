"""Torch tensors are logged like the numpy arrays they hold (skipped where
torch is not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _helpers import frames, masked_body
from streamvis import DataLogger

torch = pytest.importorskip("torch", reason="torch is not installed")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _bodies(log: Path, calls) -> list[bytes]:
    with DataLogger("torch") as logger:
        logger.init_write_log(log)
        logger.set_layout({"p": (0, 0, 1, 1)})
        for call in calls:
            call(logger)
    return [masked_body(body) for _, body in frames(log)[1:]]


@pytest.mark.parametrize("device", DEVICES)
def test_tensors_log_like_arrays(tmp_path: Path, device: str):
    values = np.random.default_rng(0).standard_normal((4, 6, 2)).astype(np.float32)
    tensor = torch.tensor(values, device=device, requires_grad=True) * 1  # part of a graph
    expected = _bodies(
        tmp_path / "numpy.log",
        [
            lambda lg: lg.scatter("p", values, 2, False),
            lambda lg: lg.multi_lines("p", values, [0], 2, False),
            lambda lg: lg.tandem_lines("p", 1, values[0, :, 0]),
            lambda lg: lg.scatter("p", values.transpose(1, 0, 2), 2, False),
        ],
    )
    got = _bodies(
        tmp_path / "torch.log",
        [
            lambda lg: lg.scatter("p", tensor, 2, False),
            lambda lg: lg.multi_lines("p", tensor, [0], 2, False),
            lambda lg: lg.tandem_lines("p", torch.tensor(1), tensor[0, :, 0]),
            lambda lg: lg.scatter("p", tensor.transpose(0, 1), 2, False),  # not contiguous
        ],
    )
    assert got == expected


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_other_dtypes_are_converted(tmp_path: Path, dtype: str):
    values = np.array([[0.5, 1.0], [2.0, -4.0]], dtype=np.float32)  # exact in every dtype
    expected = _bodies(tmp_path / "numpy.log", [lambda lg: lg.scatter("p", values, 1, False)])
    tensor = torch.tensor(values).to(getattr(torch, dtype))
    assert _bodies(tmp_path / "torch.log", [lambda lg: lg.scatter("p", tensor, 1, False)]) == expected
