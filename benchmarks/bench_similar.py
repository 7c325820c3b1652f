"""What `paperlib similar` with real genres costs (issue 22's targets: clip statistics of a 30 s
window in about a second, a 3-minute track answered by `similar --whole` in <= 15 s including model
loading).

Run: `.venv/bin/python benchmarks/bench_similar.py --run RUN_DIR [--track FILE] [--features-url URL
--metadata-url URL]`, with a trained run (e.g. `paperlib train --profile smoke --set
run_dir=/tmp/smoke-run`). Without --track, a 3-minute stereo 44.1 kHz track is made of six
synthetic clips (rock, metal, pop, disco, blues, jazz) in a temporary folder. Rows: the statistics
of one 30 s window (median of 5 after a warm-up), librosa's HPSS against ours (the statistics' most
expensive part, old vs new), the table's leave-one-artist-out accuracy computed from scratch (the
once-only cost, cached afterwards), and `paperlib similar --whole` as a fresh process, as a user
runs it: with real genres (cache warm) and without them (no feature table: the run's answer only).
Wall and CPU seconds (user + system, of the process and its children): on a busy machine the CPU
seconds say more. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics as stats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GENRES_OF_TRACK = ("rock", "metal", "pop", "disco", "blues", "jazz")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    return f"{os.cpu_count()}-core {cpu}, Python {platform.python_version()}"


def make_track(path: Path) -> Path:
    """Six synthetic 30 s clips one after another, stereo at 44.1 kHz (as a ripped track is)."""
    import librosa
    import soundfile as sf

    from paperlib.data.synthetic import render_clip

    mono = np.concatenate([render_clip(g, 0, seed=7)[0] for g in GENRES_OF_TRACK])
    audio = librosa.resample(mono, orig_sr=22050, target_sr=44100)
    sf.write(path, np.stack([audio, np.roll(audio, 50)], axis=1), 44100, subtype="PCM_16")
    return path


def timed(call, repeats: int = 1) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process and its children, user + system) of each call."""
    walls, cpus = [], []
    for _ in range(repeats):
        before, started = cpu_seconds(), time.perf_counter()
        call()
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - before)
    return walls, cpus


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a run folder with a trained final model")
    parser.add_argument("--track", help="an audio file (default: a 3-minute synthetic track)")
    parser.add_argument("--features-url", help="passed to paperlib similar")
    parser.add_argument("--metadata-url", help="passed to paperlib similar")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each `similar` command")
    args = parser.parse_args()

    from paperlib.core.session import configure_environment

    configure_environment()  # numba's cache, as the command has it
    import librosa

    from paperlib.analysis.real_genres import artist_out_probabilities
    from paperlib.core.config import Config
    from paperlib.data.audio import read_audio
    from paperlib.data.clip_statistics import TABLE_SAMPLE_RATE, clip_statistics, harmonic_percussive
    from paperlib.data.feature_table import real_gtzan_data
    from paperlib.data.gtzan_splits import artist_groups

    rows: list[tuple[str, tuple[list[float], list[float]], str]] = []
    with tempfile.TemporaryDirectory() as folder:
        track = Path(args.track) if args.track else make_track(Path(folder) / "track.wav")
        audio, _ = read_audio(track, sample_rate=TABLE_SAMPLE_RATE)
        seconds = len(audio) / TABLE_SAMPLE_RATE
        window = audio[: 30 * TABLE_SAMPLE_RATE]
        clip_statistics(window, sample_rate=TABLE_SAMPLE_RATE)  # warm-up: librosa's imports, numba
        rows.append(("clip statistics, one 30 s window", timed(
            lambda: clip_statistics(window, sample_rate=TABLE_SAMPLE_RATE), 5), "median of 5"))
        stft = librosa.stft(window, pad_mode="reflect")
        rows.append(("HPSS, librosa.decompose.hpss (2-d median filters)",
                     timed(lambda: librosa.decompose.hpss(stft), 3), "median of 3"))
        rows.append(("HPSS, clip_statistics.harmonic_percussive (1-d path)",
                     timed(lambda: harmonic_percussive(stft), 3), "same numbers; median of 3"))

        data = real_gtzan_data(Config(features_url=args.features_url, metadata_url=args.metadata_url))
        if data.table is not None and data.artists is not None:
            groups = artist_groups(data.table.tracks["track_id"].tolist(), data.artists)
            rows.append(("leave-one-artist-out over the table, from scratch", timed(
                lambda: artist_out_probabilities(data.table.statistics, data.table.labels, groups)),
                f"{len(set(groups.tolist()))} fits; once, then cached"))
        else:
            print(f"(no feature table or artist index: {data.problems}; the real-genre rows are skipped)")

        command = [sys.executable, "-m", "paperlib", "similar", str(track), "--run", args.run, "--whole",
                   "--json"]
        urls = [*(["--features-url", args.features_url] if args.features_url else []),
                *(["--metadata-url", args.metadata_url] if args.metadata_url else [])]
        subprocess.run([*command, *urls], capture_output=True, check=True)  # warm: caches filled
        rows.append((f"similar --whole --json, {seconds / 60:.1f} min track, run + real genres",
                     timed(lambda: subprocess.run([*command, *urls], capture_output=True, check=True),
                           args.repeats), f"fresh process each; median of {args.repeats}"))
        empty = Path(folder) / "no-table"
        empty.mkdir()
        env = {**os.environ, "GENRE_SIGNATURES_CACHE": str(empty)}  # numba's cache stays where it is
        only_run = [*command, "--features-url", empty.as_uri()]
        rows.append((f"similar --whole --json, {seconds / 60:.1f} min track, the run's answer only",
                     timed(lambda: subprocess.run(only_run, capture_output=True, check=True, env=env),
                           args.repeats), f"no feature table; median of {args.repeats}"))

    print(f"# paperlib similar on run {args.run}, {machine()}, load average {os.getloadavg()[0]:.1f} "
          "at the end")
    print("| what | wall s (median) | min | max | CPU s (median) | note |")
    print("|---|---|---|---|---|---|")
    for name, (walls, cpus), note in rows:
        print(f"| {name} | {stats.median(walls):.2f} | {min(walls):.2f} | {max(walls):.2f} | "
              f"{stats.median(cpus):.2f} | {note} |")


if __name__ == "__main__":
    main()
