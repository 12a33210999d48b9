"""The seed README's example application, unchanged but for a step limit and
no sleep, runs against the Python logger; the viewer shows and renders its
four plots."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import streamvis
from _helpers import export, frames, run, viewer_bin

STEPS = 20

# The README's code, as a script; it never flushes or closes the logger, so
# the records reach the file through the logger's exit-time flush.
EXAMPLE = textwrap.dedent(
    """
    import math
    import sys

    import numpy as np

    from streamvis import DataLogger, ColorSpec, GridSpec

    using_pubsub = False
    using_logfile = True
    write_log_path = sys.argv[1]
    STEPS = int(sys.argv[2])

    # arbitrary run name for scoping (currently unused)
    run_name = 'myapp'
    logger = DataLogger(run_name)

    # ID of your Google Cloud Platform project with Pub/Sub API enabled
    project = 'ml-services-385715'

    # Topic of your choice
    # must be valid topic name, see:
    # https://cloud.google.com/pubsub/docs/create-topic#resource_names
    topic = 'mytopic'

    if using_pubsub:
        logger.init_pubsub(project, topic)

    if using_logfile:
        logger.init_write_log(write_log_path)

    # specifies rectangular packing layout of plots
    grid_map = dict(
            top_left=(0,0,1,1), # (top,left,height,width)
            top_right=(0,1,1,1),
            bottom_left=(1,0,1,1),
            bottom_right=(1,1,1,1)
            )

    # set the physical layout in the page for your plots
    logger.set_layout(grid_map)

    N = 50
    L = 20
    left_data = np.random.randn(N, 2)

    for step in range(STEPS):
        top_data = [
                math.sin(1 + step / 10),
                0.5 * math.sin(1.5 + step / 20),
                1.5 * math.sin(2 + step / 15)
                ]


        left_data = left_data + np.random.randn(N, 2) * 0.1
        layer_mult = np.linspace(0, 10, L)
        data_rank3 = np.random.randn(L,N,2) * layer_mult.reshape(L,1,1)

        logger.tandem_lines('top_left', step, top_data, palette='Viridis256')

        # Distribute the L dimension along grid cells
        logger.scatter(plot_name='top_right', data=data_rank3, spatial_dim=2,
                append=False, grid=GridSpec(0, 5, 1.2))

        # Colorize the L dimension
        logger.scatter(plot_name='bottom_left', data=data_rank3, spatial_dim=2,
                append=False, color=ColorSpec('Viridis256', 0))

        # data4 = np.random.randn(N,3)
        data4 = np.random.uniform(size=(N,3))

        # Assign color within the spatial_dim
        logger.scatter(plot_name='bottom_right', data=data4, spatial_dim=1,
                append=False, color=ColorSpec('Viridis256'))
    """
)

PLOTS = ["bottom_left", "bottom_right", "top_left", "top_right"]


def _run_example(tmp_path: Path) -> Path:
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE)
    log = tmp_path / "example.log"
    # The streamvis package under test, installed or not.
    package_root = str(Path(streamvis.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, str(script), str(log), str(STEPS)], check=True, timeout=120, env=env)
    return log


def test_the_readme_example_logs_every_call(tmp_path: Path):
    log = _run_example(tmp_path)
    assert len(frames(log)) == 1 + 4 * STEPS


def test_the_viewer_exports_the_four_plots(tmp_path: Path):
    shown = export(_run_example(tmp_path), tmp_path / "export.json")
    assert sorted(shown) == PLOTS
    assert shown["top_left"]["kind"] == "multi_line"
    assert shown["top_left"]["layout"] == [0, 0, 1, 1]
    assert len(shown["top_left"]["columns"]["x"]) == 3
    assert all(len(line) == STEPS for line in shown["top_left"]["columns"]["x"])
    assert shown["top_right"]["layout"] == [0, 1, 1, 1]
    assert len(shown["top_right"]["columns"]["x"]) == 20 * 50
    assert shown["bottom_left"]["palette"] == "Viridis256"
    assert shown["bottom_right"]["layout"] == [1, 1, 1, 1]
    assert len(shown["bottom_right"]["columns"]["z"]) == 50


def test_the_viewer_renders_a_screenshot(tmp_path: Path):
    log = _run_example(tmp_path)
    png = tmp_path / "out.png"
    run([viewer_bin(), "--file", log, "--screenshot", png, "--size", "800x600"])
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == 800 and int.from_bytes(data[20:24], "big") == 600
    assert len(data) > 10_000, "a page of four plots is more than a blank image"
