"""The old and the new training design side by side, in one invocation on one machine (issue 10).

Run: `.venv/bin/python benchmarks/bench_training.py [--clips 300] [--epochs 2] [--batch-sizes 16,32]`.
Trains the 7 models of a 6-fold run (6 folds + the final model; each fold model fits 5/6 x 0.88 of
the clips) on random uint8 images of the real shape, for `--epochs` epochs each, validation included:
- old (per-fold processes): the design before issue 10, kept here as the reference: one process per
  model (joblib, one TensorFlow thread each, as many at once as cores), one Keras `fit` per model on
  batches cut from the images on the fly.
- one program: `paperlib.model.program.train_together`, every model in one process on tokens cut
  once, on each Keras backend that is installed (TensorFlow; JAX when `jax` imports).
Each row runs in its own child process. Prints a table: model-clips/s, seconds per epoch of all 7
models, notebook 03 of the paper profile estimated from the rate (13.2 trainings x 50 epochs x 733
clips; early stopping only shortens it), the arithmetic rate (0.11 GFLOP per training clip, forward
and backward) against the machine's estimated peak, and the peak resident memory of the row's
processes (for the old design: the parent plus each worker's peak). Asserts nothing.
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

import numpy as np

GFLOP_PER_CLIP = 0.11  # forward + backward of one training clip (10 tokens of the default CNN)
PAPER_MODEL_CLIP_EPOCHS = 13.2 * 50 * 733  # paper profile 03: trainings x epochs x fit clips
FOLDS = 6


def _problem(clips: int, epochs: int, batch_size: int):
    from paperlib.core.config import Config
    from paperlib.core.registry import FINAL
    from paperlib.data.folds import assign_folds
    from paperlib.model.cross_validation import model_spec

    config = Config(folds=FOLDS, epochs=epochs, batch_size=batch_size,
                         early_stopping_start=epochs, clips_per_genre=clips // 10)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (clips, config.n_mels, config.n_frames), dtype=np.uint8)
    labels = np.arange(clips) % 10
    folds = assign_folds(labels, folds=FOLDS, seed=config.seed)
    specs = [model_spec("attention", fold, labels, folds, config) for fold in [*range(FOLDS), FINAL]]
    return config, images, labels, specs


def _old_model(images, labels, spec, config, threads: int) -> float:
    """One model as the old design trained it, in its own process; its peak memory in MB."""
    from paperlib.core.session import configure_environment

    configure_environment()
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from paperlib.data.features import cut_tokens
    from paperlib.model.network import build_model
    from paperlib.model.recipe import compile_for_training

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.rng = np.random.default_rng(spec.init_seed(config))
            self.order = self.rng.permutation(spec.fit)

        def __len__(self):
            return int(np.ceil(len(self.order) / config.batch_size))

        def __getitem__(self, index):
            take = self.order[index * config.batch_size:(index + 1) * config.batch_size]
            return cut_tokens(images[take], config), labels[take]

        def on_epoch_end(self):
            self.order = self.rng.permutation(spec.fit)

    keras.utils.set_random_seed(spec.init_seed(config))
    model = build_model(config, n_classes=10)
    compile_for_training(model, config)
    model.fit(Batches(), validation_data=(cut_tokens(images[spec.validation], config),
                                          labels[spec.validation]),
              epochs=config.epochs, verbose=0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(design: str, clips: int, epochs: int, batch_size: int) -> dict:
    from paperlib.core.session import configure_environment

    configure_environment()
    config, images, labels, specs = _problem(clips, epochs, batch_size)
    start = time.perf_counter()
    if design == "old":
        from joblib import Parallel, delayed

        from paperlib.core.parallel import worker_count

        cores = worker_count(0)
        processes = min(cores, len(specs))
        peaks = Parallel(n_jobs=processes)(
            delayed(_old_model)(images, labels, spec, config, max(1, cores // processes))
            for spec in specs)
        extra_mb = float(np.sort(peaks)[-processes:].sum())
    else:
        import tempfile
        from pathlib import Path

        from paperlib.data.features import cut_tokens
        from paperlib.model.program import train_together

        with tempfile.TemporaryDirectory() as folder:
            train_together(specs, cut_tokens(images, config), labels, config,
                           Path(folder) / "checkpoint.npz", progress=False)
        extra_mb = 0.0
    seconds = time.perf_counter() - start
    import keras

    return {"seconds": seconds, "model_clip_epochs": epochs * sum(len(s.fit) for s in specs),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + extra_mb,
            "backend": keras.backend.backend()}


def peak_gflops() -> tuple[float, str]:
    """cores x clock x fp32 FLOP per cycle (2 FMA units: 32 with AVX2, 64 with AVX-512)."""
    from paperlib.core.parallel import worker_count

    flags, mhz = "", 0.0
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags") and not flags:
                    flags = line
                if line.startswith("cpu MHz") and not mhz:
                    mhz = float(line.split(":")[1])
    except OSError:
        return float("nan"), "unknown CPU"
    per_cycle = 64 if "avx512f" in flags else 32 if "avx2" in flags else 16
    cores = worker_count(0)
    return cores * mhz / 1000 * per_cycle, f"{cores} cores x {mhz / 1000:.2f} GHz x {per_cycle} FLOP/cycle"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-sizes", default="16,32")
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.clips, args.epochs, args.batch_size)))
        return

    backends = ["tensorflow"]
    if subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode == 0:
        backends.append("jax")
    rows = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        plan = [("old (per-fold processes)", "old", "tensorflow")]
        plan += [("one program", "new", backend) for backend in backends]
        for label, design, backend in plan:
            env = {**os.environ, "KERAS_BACKEND": backend}
            done = subprocess.run(
                [sys.executable, __file__, "--child", design, "--clips", str(args.clips),
                 "--epochs", str(args.epochs), "--batch-size", str(batch_size)],
                env=env, capture_output=True, text=True, check=True)
            rows.append((label, batch_size, json.loads(done.stdout.strip().splitlines()[-1])))
            print(f"  measured {label}, {backend}, batch {batch_size}", file=sys.stderr, flush=True)
    peak, how = peak_gflops()
    print(f"{platform.processor() or platform.machine()}, {args.clips} clips, 7 models "
          f"(6 folds + final), {args.epochs} epochs each; estimated peak {peak:.0f} GFLOP/s ({how})")
    print("| design | backend | batch | model-clips/s | s/epoch, all models | paper 03 (min) "
          "| GFLOP/s | % of peak | peak memory (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, batch_size, row in rows:
        rate = row["model_clip_epochs"] / row["seconds"]
        print(f"| {label} | {row['backend']} | {batch_size} | {rate:.0f} | "
              f"{row['seconds'] / args.epochs:.1f} | {PAPER_MODEL_CLIP_EPOCHS / rate / 60:.1f} | "
              f"{rate * GFLOP_PER_CLIP:.1f} | {100 * rate * GFLOP_PER_CLIP / peak:.1f} | "
              f"{row['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
