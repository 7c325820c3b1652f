"""What building the Jupyter Book of a finished run costs (it was a `seconds < 60` assertion in
tests/test_book.py, a wall-clock limit turned into a failure; issue 29 moved it here).

Run: `.venv/bin/python benchmarks/bench_book.py --run RUN_DIR [--repeats N]`, with a run whose
notebooks all ran (e.g. `paperlib reproduce --profile smoke --set run_dir=/tmp/smoke-run`). Each
build goes to a fresh temporary folder, strictly (Sphinx warnings fail), as the tests build it.
Prints a table of wall and CPU seconds (this process and its children); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics as stats
import tempfile
import time
from pathlib import Path


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    return f"{os.cpu_count()}-core {cpu}, Python {platform.python_version()}"


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a run folder with every notebook executed")
    parser.add_argument("--repeats", type=int, default=2, help="builds to time (default 2)")
    args = parser.parse_args()
    from paperlib.core.session import configure_environment
    from paperlib.publish.book import build_book

    configure_environment()
    walls, cpus = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as build:
            before, started = cpu_seconds(), time.perf_counter()
            build_book(args.run, build_dir=Path(build) / "build", strict=True)
            walls.append(time.perf_counter() - started)
            cpus.append(cpu_seconds() - before)
    print(f"Book build of {args.run} on {machine()}, {time.strftime('%Y-%m-%d')}")
    print("| step | builds | wall s (median) | wall s (each) | CPU s (median) |")
    print("|---|---|---|---|---|")
    print(f"| `build_book(strict=True)` | {len(walls)} | {stats.median(walls):.1f} | "
          f"{', '.join(f'{w:.1f}' for w in walls)} | {stats.median(cpus):.1f} |")


if __name__ == "__main__":
    main()
