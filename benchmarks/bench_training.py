"""How fast can a run's models train on this machine? Designs side by side, in one invocation.

Run: `.venv/bin/python benchmarks/bench_training.py [--clips 300] [--epochs 3] [--backends tensorflow,jax]
[--designs one,vector,pair,fit] [--set batch_norm=true ...] [--models 7]`.
Trains the 7 models of a 6-fold run (6 folds + the final model; each fold model fits 5/6 x 0.88 of the
clips) on random uint8 images of the real shape for `--epochs` epochs each, validation included, in
these designs:
- one: today's program (`paperlib.model.program.train_together`): one compiled model per pooling,
  each model's state swapped in for its epoch, one model at a time, `train_on_batch` per batch;
- pair: two compiled workers stepping two models at once, one per thread (TensorFlow and XLA release
  the GIL, so the two models' steps may overlap on two cores);
- fit: one model at a time, each epoch one compiled `fit` call over the epoch's batches;
- vector: the `vector` trainer (`paperlib.model.vectorised.train_stacked`): every model a slot of
  stacked weights, one compiled epoch for all of them (JAX only; `jax.vmap` over the slots on a
  GPU, `jax.lax.map` on a CPU). Its compile seconds are reported apart.
`--models 13` trains the default profile's 13 (6 attention folds, the final model, 6 mean-pooling
folds) instead of 7.
Each row runs in its own child process (`--backends jax` alone on a machine without TensorFlow, such
as a GPU machine with JAX). Prints a table: model-clips/s, seconds per epoch of all 7 models,
notebook 03 of the default and paper profiles estimated from the rate (trainings x epochs x fit clips;
early stopping only shortens it), and the peak resident memory. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

FOLDS = 6
# notebook 03: trainings (folds, final, the ablation's folds) x epochs at most x fit clips
WORKLOADS = {"default 03 (min)": 13 * 40 * 183, "paper 03 (min)": 13 * 40 * 733}
DESIGNS = ("one", "vector", "pair", "fit")


def _problem(clips: int, epochs: int, sets: dict, models: int = 7):
    from paperlib.core.config import Config
    from paperlib.core.registry import FINAL
    from paperlib.data.features import cut_tokens
    from paperlib.data.folds import assign_folds
    from paperlib.model.cross_validation import model_spec

    config = Config(folds=FOLDS, epochs=epochs, early_stopping_start=epochs, clips_per_genre=clips // 10, **sets)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (clips, config.n_mels, config.n_frames), dtype=np.uint8)
    labels = np.arange(clips) % 10
    folds = assign_folds(labels, folds=FOLDS, seed=config.seed)
    specs = [model_spec("attention", fold, labels, folds, config) for fold in [*range(FOLDS), FINAL]]
    specs += [model_spec("mean", fold, labels, folds, config) for fold in range(models - len(specs))]
    return config, cut_tokens(images, config), labels, specs


def _epochs_by_hand(design: str, config, tokens, labels, specs) -> None:
    """Every model's epochs as `program` runs them (batch order, validation), in pairs of threads
    (`pair`) or with one `fit` call per epoch (`fit`)."""
    from paperlib.model.program import Worker
    from paperlib.model.training_state import validation_scores

    workers = [Worker(config, 10) for _ in range(2 if design == "pair" else 1)]
    states = [workers[0].initial_state(spec.init_seed(), 10) for spec in specs]

    def epoch(worker, spec, state, e):
        worker.load(state)
        order = spec.fit[spec.batch_order(e)]
        if design == "fit":
            worker.model.fit(tokens[np.sort(order)], labels[np.sort(order)], batch_size=config.batch_size,
                             epochs=1, shuffle=False, verbose=0)
        else:
            worker.train_epoch(tokens, labels, order, epoch=e, uniform_attention=False,
                               rng=spec.augmentation_stream(e))
        validation_scores(worker.predict(tokens[spec.validation]), labels[spec.validation])
        worker.save(state)

    for e in range(config.epochs):
        if design == "pair":
            with ThreadPoolExecutor(2) as pool:
                for i in range(0, len(specs), 2):
                    jobs = [pool.submit(epoch, workers[k], specs[i + k], states[i + k], e)
                            for k in range(min(2, len(specs) - i))]
                    for job in jobs:
                        job.result()
        else:
            for spec, state in zip(specs, states):
                epoch(workers[0], spec, state, e)


def child(design: str, clips: int, epochs: int, sets: dict, models: int) -> dict:
    from paperlib.core.session import configure_environment

    configure_environment()
    config, tokens, labels, specs = _problem(clips, epochs, sets, models)
    start = time.perf_counter()
    compile_seconds = None
    if design == "vector":
        import tempfile
        from pathlib import Path

        from paperlib.model.vectorised import network_for, train_stacked

        with tempfile.TemporaryDirectory() as folder:
            train_stacked(specs, tokens, labels, config.replace(trainer="vector"),
                          Path(folder) / "checkpoint.npz", progress=False)
        compile_seconds = network_for(config.replace(trainer="vector"), 10).compile_seconds
    elif design == "one":
        import tempfile
        from pathlib import Path

        from paperlib.model.program import train_together

        with tempfile.TemporaryDirectory() as folder:
            train_together(specs, tokens, labels, config, Path(folder) / "checkpoint.npz", progress=False)
    else:
        _epochs_by_hand(design, config, tokens, labels, specs)
    seconds = time.perf_counter() - start
    import keras

    return {"seconds": seconds, "compile_seconds": compile_seconds,
            "model_clip_epochs": epochs * sum(len(s.fit) for s in specs),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "backend": keras.backend.backend(), "device": _device()}


def _device() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].platform)
    return "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,jax",
                        help="Keras backends to measure, those that import (default both)")
    parser.add_argument("--designs", default="one,vector")
    parser.add_argument("--models", type=int, default=7, help="7 (folds + final) or up to 13 (+ mean-pooling folds)")
    parser.add_argument("--repeat", type=int, default=1, help="measure every row this many times, alternating")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of the models, e.g. batch_norm=true (repeatable)")
    parser.add_argument("--child", choices=DESIGNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from paperlib.core.overrides import parse_sets

    sets = parse_sets(args.set)
    if args.child:
        print(json.dumps(child(args.child, args.clips, args.epochs, sets, args.models)))
        return
    backends = [b for b in args.backends.split(",")
                if subprocess.run([sys.executable, "-c", f"import {b}"], capture_output=True).returncode == 0]
    rows = []
    cases = [(backend, design) for backend in backends for design in args.designs.split(",")
             if design != "vector" or backend == "jax"]
    for _ in range(args.repeat):
        for backend, design in cases:
            done = subprocess.run(
                [sys.executable, __file__, "--child", design, "--clips", str(args.clips),
                 "--epochs", str(args.epochs), "--models", str(args.models),
                 *[f"--set={s}" for s in args.set]],
                env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
            if done.returncode:
                print(f"  {design} on {backend} failed: {done.stderr[-1500:]}", file=sys.stderr)
                continue
            rows.append((design, json.loads(done.stdout.strip().splitlines()[-1])))
            print(f"  measured {design} on {backend}", file=sys.stderr, flush=True)
    print(f"{platform.machine()}, {os.cpu_count()} cores; {args.clips} clips, {args.models} models, "
          f"{args.epochs} epochs each; parameters {sets or 'default'}")
    print("| design | backend | device | seconds | of which compiling | model-clips/s | "
          "model-clips/s after compiling | " + " | ".join(WORKLOADS) + " | peak memory (MB) |")
    print("|---|---|---|---:|---:|---:|---:|" + "---:|" * len(WORKLOADS) + "---:|")
    for design, row in rows:
        rate = row["model_clip_epochs"] / row["seconds"]
        compiling = row["compile_seconds"]
        steady = row["model_clip_epochs"] / (row["seconds"] - compiling) if compiling is not None else None
        estimates = " | ".join(f"{work / (steady or rate) / 60:.1f}" for work in WORKLOADS.values())
        print(f"| {design} | {row['backend']} | {row['device']} | {row['seconds']:.1f} | "
              f"{'' if compiling is None else f'{compiling:.1f}'} | {rate:.0f} | "
              f"{'' if steady is None else f'{steady:.0f}'} | {estimates} | {row['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
