"""What a sweep costs against the same runs one after another, in one invocation (issue 11).

Run: `.venv/bin/python benchmarks/bench_sweep.py [--profile smoke] [--seeds 2] [--set NAME=VALUE ...]`.
- single runs: `paperlib reproduce --no-book` once per seed, one after the other (the way to get
  several seeds before sweeps).
- sweep: `paperlib sweep --seeds N --no-book`, the same seeds as Dask tasks on a LocalCluster sized
  to this machine.
Each arm starts from nothing but a warm numba cache: its own data, runs and token-cache folders.
Prints a table: wall seconds, seconds per member, and the sweep's cost against the single runs.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAPERLIB = Path(sys.executable).parent / "paperlib"


def arm_environment(folder: Path) -> dict[str, str]:
    """Fresh data, runs and cache folders (numba's compiled cache shared, warm)."""
    cache = folder / "cache"
    cache.mkdir(parents=True)
    numba = Path(os.environ.get("NUMBA_CACHE_DIR", ROOT / ".cache" / "numba"))
    return {**os.environ, "GENRE_SIGNATURES_DATA": str(folder / "data"),
            "GENRE_SIGNATURES_RUNS": str(folder / "runs"), "GENRE_SIGNATURES_CACHE": str(cache),
            "NUMBA_CACHE_DIR": str(numba)}


def timed(commands: list[list[str]], env: dict[str, str]) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from paperlib.core.config import load_profile
    from paperlib.sweep.cluster import local_workers

    sets = [part for item in args.set for part in ("--set", item)]
    base = load_profile(args.profile).seed
    seeds = range(base, base + args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        sweep = timed([[str(PAPERLIB), "sweep", "--profile", args.profile, "--seeds", str(args.seeds),
                        "--no-book", *sets]], arm_environment(Path(tmp) / "sweep"))
        print(f"sweep: {sweep:.0f} s", flush=True)
        singles = timed([[str(PAPERLIB), "reproduce", "--profile", args.profile, "--no-book", *sets,
                          "--set", f"seed={seed}", "--set", f"run_dir={tmp}/single/runs/seed-{seed}"]
                         for seed in seeds], arm_environment(Path(tmp) / "single"))
        print(f"single runs: {singles:.0f} s", flush=True)
    print(f"# {args.seeds} seeds of profile {args.profile} {' '.join(args.set)} on {platform.node()}: "
          f"{os.cpu_count()} cores, local cluster of {local_workers()} workers\n")
    print("| arm | wall s | s per member | against single runs |")
    print("|---|---:|---:|---:|")
    print(f"| single runs, one after another | {singles:.0f} | {singles / args.seeds:.0f} | 1.00 |")
    print(f"| sweep on Dask | {sweep:.0f} | {sweep / args.seeds:.0f} | {sweep / singles:.2f} |")


if __name__ == "__main__":
    main()
