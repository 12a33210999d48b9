"""The seed README's example application: four plots updated every step.

The Python twin of the Rust ``streamvis-test-app``::

    python -m streamvis.test_app file RUN_NAME LOG_FILE [--steps N] [--interval-ms MS] [--seed S]
    python -m streamvis.test_app publish RUN_NAME PROJECT TOPIC [--log-file PATH] [...]

It clears the viewer, sets a 2x2 layout, then every step logs a tandem line
plot, a gridded scatter, a scatter coloured by layer and a scatter coloured
by value, and marks the step's end.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Optional, Sequence

import numpy as np

from . import ColorSpec, DataLogger, GridSpec

#: Points per cloud.
N = 50
#: Layers of the rank-3 data.
L = 20

GRID_MAP = {
    "top_left": (0, 0, 1, 1),
    "top_right": (0, 1, 1, 1),
    "bottom_left": (1, 0, 1, 1),
    "bottom_right": (1, 1, 1, 1),
}


class SeedDemo:
    """The example's state between steps."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        # A random walk the original computes each step (and does not plot).
        self.left_data = self.rng.standard_normal((N, 2))

    def start(self, logger: DataLogger) -> None:
        """Clears the viewer and sets the layout."""
        logger.clear()
        logger.set_layout(GRID_MAP)

    def step(self, logger: DataLogger, step: int) -> None:
        """Logs one step's four calls and marks the step's end."""
        top_data = [
            math.sin(1 + step / 10),
            0.5 * math.sin(1.5 + step / 20),
            1.5 * math.sin(2 + step / 15),
        ]
        self.left_data = self.left_data + self.rng.standard_normal((N, 2)) * 0.1
        layer_mult = np.linspace(0, 10, L)
        data_rank3 = self.rng.standard_normal((L, N, 2)) * layer_mult.reshape(L, 1, 1)

        logger.tandem_lines("top_left", step, top_data, palette="Viridis256")
        # Distribute the L dimension along grid cells.
        logger.scatter(
            plot_name="top_right", data=data_rank3, spatial_dim=2, append=False, grid=GridSpec(0, 5, 1.2)
        )
        # Colourise the L dimension.
        logger.scatter(
            plot_name="bottom_left",
            data=data_rank3,
            spatial_dim=2,
            append=False,
            color=ColorSpec("Viridis256", 0),
        )
        # Colour within the spatial dim: (x, y, colour value) per point.
        data4 = self.rng.uniform(size=(N, 3))
        logger.scatter(
            plot_name="bottom_right", data=data4, spatial_dim=1, append=False, color=ColorSpec("Viridis256")
        )
        logger.end_step()


def run(logger: DataLogger, steps: int, interval_ms: float, seed: int) -> None:
    """Runs the demo for ``steps`` steps, one every ``interval_ms``."""
    demo = SeedDemo(seed)
    demo.start(logger)
    interval = interval_ms / 1000
    started = time.monotonic()
    for step in range(steps):
        # Sleep to the step's slot, so steps keep their pace however long logging takes.
        delay = started + step * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        demo.step(logger, step)
        logger.flush()


def _parser() -> argparse.ArgumentParser:
    # The common options are accepted before or after the mode, as in Rust.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--steps", type=int, default=argparse.SUPPRESS, help="number of steps (default 10000)")
    common.add_argument(
        "--interval-ms", type=float, default=argparse.SUPPRESS, help="time between steps in ms (default 1000)"
    )
    common.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="seed for the random data (default 0)")

    parser = argparse.ArgumentParser(
        prog="python -m streamvis.test_app",
        description="The example application: logs four plots every step.",
        parents=[common],
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    file_mode = modes.add_parser("file", parents=[common], help="log to a file")
    file_mode.add_argument("run_name")
    file_mode.add_argument("log_file")
    publish = modes.add_parser("publish", parents=[common], help="publish to Google Pub/Sub")
    publish.add_argument("run_name")
    publish.add_argument("project")
    publish.add_argument("topic")
    publish.add_argument("--log-file", "--log_file", help="also log to this file")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    steps = getattr(args, "steps", 10_000)
    interval_ms = getattr(args, "interval_ms", 1000.0)
    seed = getattr(args, "seed", 0)
    try:
        with DataLogger(args.run_name) as logger:
            if args.mode == "file":
                logger.init_write_log(args.log_file)
            else:
                logger.init_pubsub(args.project, args.topic)
                if args.log_file:
                    logger.init_write_log(args.log_file)
            run(logger, steps, interval_ms, seed)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
