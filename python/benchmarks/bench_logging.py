"""What logging a point cloud costs, beside writing its bytes with numpy.

For N x 2 float32 scatters (append=False) of 1e3, 1e6 and 1e7 points, prints
the median time of one ``DataLogger.scatter`` call (flushed, so the bytes
are in the file) and of ``ndarray.tofile`` of the same array to a file
opened for append.

    python benchmarks/bench_logging.py [--runs 7] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from streamvis import DataLogger
from streamvis._crc32c import ACCELERATED


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench(points: int, runs: int, directory: str) -> tuple[float, float]:
    """Median seconds of one logged scatter and of one ``tofile``."""
    data = np.random.default_rng(0).standard_normal((points, 2)).astype(np.float32)
    log_path = os.path.join(directory, f"bench-{points}.log")
    raw_path = os.path.join(directory, f"bench-{points}.raw")

    logger = DataLogger("bench", flush_interval=3600)
    logger.init_write_log(log_path)
    logger.set_layout({"cloud": (0, 0, 1, 1)})
    logger.flush()
    log_start = os.path.getsize(log_path)
    raw = open(raw_path, "ab", buffering=0)

    def log_call() -> None:
        logger.scatter("cloud", data, spatial_dim=1, append=False)
        logger.flush()

    def tofile() -> None:
        data.tofile(raw)

    logged, written = [], []
    try:
        for run in range(runs + 1):
            # Both start from the same file sizes each time, alternating, so
            # that they see the same disk and page-cache conditions.
            os.truncate(log_path, log_start)
            os.truncate(raw_path, 0)
            t_log, t_raw = _timed(log_call), _timed(tofile)
            if run:  # the first run warms up
                logged.append(t_log)
                written.append(t_raw)
    finally:
        logger.close()
        raw.close()
        os.remove(log_path)
        os.remove(raw_path)
    return statistics.median(logged), statistics.median(written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per size (median reported)")
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary dir)")
    args = parser.parse_args()

    print(f"crc32c: {'C-accelerated package' if ACCELERATED else 'built-in fallback'}")
    print(f"{'points':>10} {'MB':>8} {'scatter+flush':>14} {'tofile':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        for points in (1_000, 1_000_000, 10_000_000):
            logged, written = bench(points, args.runs, directory)
            mb = points * 2 * 4 / 1e6
            print(f"{points:>10,} {mb:>8.3f} {logged * 1e3:>11.3f} ms {written * 1e3:>7.3f} ms {logged / written:>6.2f}x")


if __name__ == "__main__":
    main()
