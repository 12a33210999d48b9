"""Test configuration: the parity scenarios are discovered, never listed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import parity_files  # noqa: E402


def pytest_generate_tests(metafunc):
    """Parametrizes every test taking ``scenario_path`` with each scenario of
    the parity directory ($STREAMVIS_PARITY_DIR or tests/data/parity)."""
    if "scenario_path" in metafunc.fixturenames:
        files = parity_files()
        metafunc.parametrize("scenario_path", files, ids=[f.stem for f in files])
