"""The test suite's time per tier and per file, for this checkout and, side by side, for others.

Run: `.venv/bin/python benchmarks/bench_tests.py [--repo OTHER_CHECKOUT ...] [--tiers check,test]`.
For each checkout (this one first), runs its Makefile's tiers (`make check`, `make test`; a checkout
without a `check` target gets a dash) with every test's duration reported, and prints one table of
wall seconds per tier and checkout, then the slowest files of each full run (summed setup, call
and teardown seconds; under pytest-xdist those overlap, so they add up to more than the wall time).
A slow test that creeps into a tier shows up here. Name the machine when you quote the numbers:
machines differ by several times; compare rows of one invocation. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATION = re.compile(r"^([0-9.]+)s (?:call|setup|teardown)\s+(\S+?)::", re.M)
SUMMARY = re.compile(r"^=*\s*(.*(?:passed|failed).*) in [0-9.]+s", re.M)


def has_target(repo: Path, target: str) -> bool:
    done = subprocess.run(["make", "-C", str(repo), "-n", target], capture_output=True, text=True)
    return done.returncode == 0


def run_tier(repo: Path, tier: str) -> tuple[float, str, dict[str, float]]:
    """Wall seconds, pytest's summary line and the summed seconds per test file of `make TIER`."""
    start = time.perf_counter()
    done = subprocess.run(["make", "-C", str(repo), tier, "PYTEST_ARGS=--durations=0 -p no:cacheprovider"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - start
    out = done.stdout + done.stderr
    files: dict[str, float] = defaultdict(float)
    for seconds, file in DURATION.findall(out):
        files[file] += float(seconds)
    found = SUMMARY.findall(out)
    summary = found[-1] if found else f"exit {done.returncode}"
    return wall, summary, dict(files)


def machine() -> str:
    cpu = platform.processor()
    info = Path("/proc/cpuinfo")
    if info.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.machine()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", action="append", default=[], type=Path,
                        help="another checkout to measure beside this one (its own .venv)")
    parser.add_argument("--tiers", default="check,test")
    parser.add_argument("--files", type=int, default=12, help="slowest files shown per full run")
    args = parser.parse_args()
    repos = [ROOT, *[r.resolve() for r in args.repo]]
    tiers = args.tiers.split(",")
    rows, by_file = [], {}
    for repo in repos:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        for tier in tiers:
            if not has_target(repo, tier):
                rows.append((f"{repo.name} ({commit})", tier, "-", "no such target"))
                continue
            wall, summary, files = run_tier(repo, tier)
            rows.append((f"{repo.name} ({commit})", tier, f"{wall:.0f}", summary))
            print(f"{repo.name} {tier}: {wall:.0f} s, {summary}", flush=True)
            if tier == tiers[-1]:
                by_file[f"{repo.name} ({commit})"] = files
    print(f"\n{machine()}\n")
    print("| checkout | tier | wall s | pytest |\n|---|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for name, files in by_file.items():
        print(f"\n{name}, `make {tiers[-1]}`: the slowest files (summed test seconds)\n")
        print("| file | s |\n|---|---:|")
        for file, seconds in sorted(files.items(), key=lambda kv: -kv[1])[:args.files]:
            print(f"| {file} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
