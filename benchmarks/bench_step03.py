"""How long do step 01 (data) and step 03 (every model of the run) of a profile take on this machine?

Run: `.venv/bin/python benchmarks/bench_step03.py [--profile default] [--set trainer=vector ...]
[--repeat 2]`. Each measurement runs in a process of its own on a fresh run folder, `--repeat` times
in a row: the first run may make the synthetic data and compile (librosa's numba functions, the
`vector` trainer's program); the later ones find the token cache and JAX's compiled program on disk
(the persistent cache under .cache/), as a user's second run does. Prints a table: seconds of
step 01 and step 03, of which compiling (the `vector` trainer), models, model-epochs and
model-epochs per second. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time


def child(profile: str, sets: dict) -> dict:
    from paperlib.core.session import configure_environment, import_tensorflow_quietly

    configure_environment()
    import_tensorflow_quietly()
    from paperlib.core.config import load_profile
    from paperlib.data.prepare import prepare_data
    from paperlib.model.cross_validation import run_cross_validation

    with tempfile.TemporaryDirectory() as folder:
        config = load_profile(profile, **sets, run_dir=folder)
        start = time.perf_counter()
        prepared, _ = prepare_data(config, progress=False)
        data = time.perf_counter() - start
        results = run_cross_validation(prepared, config, progress=False)
        training = time.perf_counter() - start - data
        epochs = sum(int(cv.folds["epochs"].sum()) for cv in results.values())
        finals = len(list((prepared.run.path / "cv").glob("*/final")))
    compiling = None
    if config.trainer == "vector":
        from paperlib.model.vectorised import network_for

        compiling = network_for(config, int(prepared.labels.max()) + 1).compile_seconds
    import keras

    return {"data": data, "training": training, "compiling": compiling, "clips": len(prepared.labels),
            "models": sum(len(cv.folds) for cv in results.values()) + finals, "epochs": epochs,
            "backend": keras.backend.backend(), "trainer": config.trainer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from paperlib.core.overrides import parse_sets

    sets = parse_sets(args.set)
    if args.child:
        print(json.dumps(child(args.profile, sets)))
        return
    rows = []
    for run in range(1, args.repeat + 1):
        done = subprocess.run([sys.executable, __file__, "--child", "--profile", args.profile,
                               *[f"--set={s}" for s in args.set]], capture_output=True, text=True)
        if done.returncode:
            print(f"  run {run} failed: {done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append((run, json.loads(done.stdout.strip().splitlines()[-1])))
        print(f"  measured run {run}", file=sys.stderr, flush=True)
    print(f"{platform.machine()}, {os.cpu_count()} cores; profile {args.profile}, parameters {sets or 'default'}")
    print("| run | backend | trainer | clips | step 01 (s) | step 03 (s) | of which compiling | models "
          "| model-epochs (folds) | model-epochs/s |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for run, row in rows:
        compiling = "" if row["compiling"] is None else f"{row['compiling']:.1f}"
        print(f"| {run} | {row['backend']} | {row['trainer']} | {row['clips']} | {row['data']:.1f} | "
              f"{row['training']:.1f} | {compiling} | {row['models']} | {row['epochs']} | "
              f"{row['epochs'] / row['training']:.1f} |")


if __name__ == "__main__":
    main()
