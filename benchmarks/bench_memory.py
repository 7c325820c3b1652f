"""Memory as Binder sees it: the peak memory of the whole process tree of `paperlib reproduce`
(the command, papermill, every notebook kernel and their children: joblib's workers, the book's
Sphinx), which is what a Binder container's limit (about 2 GB) counts, not one process.

Run: `.venv/bin/python benchmarks/bench_memory.py [--profile default] [--interval 1.0] [--run-dir DIR]
[-- --set NAME=VALUE ...]`. The run goes to a fresh temporary data folder and run folder (or DIR; a
cold run: synthesis, token extraction and training included); the book is built as `make reproduce`
builds it. psutil samples every process of the tree each `--interval` seconds: the sum of their RSS
(resident memory; pages shared between processes counted in each) and of their PSS (proportional
set size: shared pages divided among their users, the closer figure to what the container holds).
Each row is one notebook (the samples up to its "done" line) and the book. Prints a table; asserts
nothing. The default profile takes about an hour on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GB = 1024 ** 3


@dataclass
class Peak:
    rss: int = 0  # the largest sum of the tree's RSS seen
    pss: int = 0  # the largest sum of the tree's PSS seen
    largest: int = 0  # the largest single process's RSS seen
    processes: int = 0  # processes in the tree at the RSS peak
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
    return f"{os.cpu_count()}-core {cpu}, {memory:.0f} GiB, Python {platform.python_version()}"


def sample(root) -> tuple[int, int, int, int]:
    """(RSS sum, PSS sum, largest RSS, processes) of `root` and all its descendants now."""
    import psutil

    rss = pss = largest = count = 0
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0, 0
    for process in tree:
        try:
            info = process.memory_full_info()
        except psutil.Error:  # gone between the listing and the reading
            continue
        rss, pss, count = rss + info.rss, pss + getattr(info, "pss", info.rss), count + 1
        largest = max(largest, info.rss)
    return rss, pss, largest, count


def measure(command: list[str], env: dict[str, str], interval: float) -> tuple[dict[str, Peak], int]:
    """Run `command`, sampling its tree; (peaks by step, the command's exit status)."""
    import psutil

    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    steps: dict[str, Peak] = {}
    current = ["(first notebook)"]
    steps[current[0]] = Peak()

    def read_lines() -> None:  # "<notebook> done in N s" closes a step
        for line in process.stdout:
            print(line, end="", flush=True)
            if " done in " in line:
                name = line.split(" done in ")[0].strip()
                peak = steps.pop(current[0])
                peak.seconds = time.perf_counter() - peak.started
                steps[name] = peak
                current[0] = "(after the last notebook: the book)"
                steps[current[0]] = Peak()

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    root = psutil.Process(process.pid)
    while process.poll() is None:
        rss, pss, largest, count = sample(root)
        peak = steps.get(current[0])
        if peak is not None:
            if rss > peak.rss:
                peak.rss, peak.processes = rss, count
            peak.pss, peak.largest = max(peak.pss, pss), max(peak.largest, largest)
        time.sleep(interval)
    reader.join(timeout=10)
    last = steps.get(current[0])
    if last is not None and not last.seconds:
        last.seconds = time.perf_counter() - last.started
    return steps, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default", help="the profile to reproduce (default: default)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--run-dir", help="the run folder to fill (default: a temporary one; a folder "
                                          "given here keeps the run, e.g. for its book)")
    parser.add_argument("extra", nargs="*", help="after --: more `paperlib reproduce` arguments")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        env = {**os.environ, "GENRE_SIGNATURES_DATA": str(Path(scratch) / "data")}
        command = [str(Path(sys.executable).parent / "paperlib"), "reproduce", "--profile", args.profile,
                   "--set", f"run_dir={Path(args.run_dir or Path(scratch) / 'run').resolve()}", *args.extra]
        started = time.perf_counter()
        steps, status = measure(command, env, args.interval)
        wall = time.perf_counter() - started
    print(f"\n# `paperlib reproduce --profile {args.profile}` on {machine()}, {time.strftime('%Y-%m-%d')}; "
          f"exit status {status}, {wall:.0f} s, sampled every {args.interval:g} s")
    print("| step | seconds | peak tree RSS (GB) | peak tree PSS (GB) | largest process RSS (GB) | processes at the RSS peak |")
    print("|---|---|---|---|---|---|")
    for name, peak in steps.items():
        print(f"| {name} | {peak.seconds:.0f} | {peak.rss / GB:.2f} | {peak.pss / GB:.2f} | "
              f"{peak.largest / GB:.2f} | {peak.processes} |")
    top = max(steps.values(), key=lambda p: p.rss)
    print(f"| **whole run** | {wall:.0f} | **{top.rss / GB:.2f}** | "
          f"**{max(p.pss for p in steps.values()) / GB:.2f}** | {max(p.largest for p in steps.values()) / GB:.2f} | "
          f"{top.processes} |")


if __name__ == "__main__":
    main()
