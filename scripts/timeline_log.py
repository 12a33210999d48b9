#!/usr/bin/env python3
"""Writes a long log for the timeline benchmark (benches/timeline.rs).

    PYTHONPATH=python python3 scripts/timeline_log.py OUT.log [STEPS] [--seed S]

Every step logs the seed example's four plots as the test app does them
(streamvis.test_app.SeedDemo), 10,000 points appended to the "cloud"
scatter, two values on the "loss" tandem lines, and a step marker. 10,000
steps (the default) append 1e8 points: a log of about 930 MiB. The data is
seeded, so two runs write the same records (wall times aside).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from streamvis import DataLogger
from streamvis.test_app import GRID_MAP, SeedDemo

#: Points appended to "cloud" every step.
CLOUD_POINTS = 10_000

#: The seed example's 2x2 grid, with the appended cloud and the losses
#: in a third row.
LAYOUT = {**GRID_MAP, "cloud": (2, 0, 1, 1), "loss": (2, 1, 1, 1)}


def write_log(path: str, steps: int, seed: int) -> None:
    demo = SeedDemo(seed)
    rng = np.random.default_rng(seed + 1)
    with DataLogger("timeline") as logger:
        logger.init_write_log(path)
        logger.clear()
        logger.set_layout(LAYOUT)
        for step in range(steps):
            # A blob drifting on a circle, so every step's points are new.
            angle = 2 * math.pi * step / max(steps, 1)
            center = np.array([math.cos(angle), math.sin(angle)]) * 4
            cloud = rng.standard_normal((CLOUD_POINTS, 2)) * 0.5 + center
            logger.scatter("cloud", cloud.astype(np.float32), spatial_dim=1, append=True)
            train = math.exp(-step / 2000) + 0.05 * rng.random()
            logger.tandem_lines("loss", step, [train, train * 1.1 + 0.02], palette="Category10_3")
            # The four plots and the step's end marker.
            demo.step(logger, step)
            if step % 100 == 99:
                logger.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="log file to write (appended to if it exists)")
    parser.add_argument("steps", type=int, nargs="?", default=10_000, help="number of steps (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the random data (default 0)")
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("steps must be at least 1")
    write_log(args.out, args.steps, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
