"""Time real folds of a profile (default `paper`) on random tokens and estimate the whole run.

Run: `.venv/bin/python benchmarks/bench_folds.py [--profile paper] [--clips 1000] [--epochs 2]
[--folds 2]`. Trains `--folds` folds for `--epochs` epochs through `training.cross_validate`
(in processes, on a GPU too, exactly as a run does), then scales the wall time to the profile's
folds, final model, the ablation's folds and epochs. Early stopping is ignored, so the estimate is an
upper bound. Works with any Keras backend (`KERAS_BACKEND=jax` on a GPU machine). Prints a table.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--clips", type=int, default=1000, help="GTZAN has 1000 (999 readable)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=2, help="folds actually trained")
    args = parser.parse_args()

    from paperlib.core.session import configure_environment

    configure_environment()
    import keras

    from paperlib.core.config import load_profile
    from paperlib.core.parallel import gpu_available
    from paperlib.core.run_folder import open_run
    from paperlib.model.cross_validation import cross_validate

    profile = load_profile(args.profile)
    if not 1 <= args.folds <= profile.folds:
        parser.error(f"--folds must be 1-{profile.folds} (the folds of profile {args.profile})")
    with tempfile.TemporaryDirectory() as tmp:
        config = profile.replace(epochs=args.epochs, early_stopping_start=args.epochs,
                                 run_dir=tmp)
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (args.clips, config.n_mels, config.n_frames), dtype=np.uint8)
        labels = np.arange(args.clips) % 10
        start = time.perf_counter()
        cross_validate(images, labels, config, open_run(config), progress=False,
                       only=list(range(args.folds)))
        wall = time.perf_counter() - start
    # the folds, the final model (every clip: folds/(folds-1) of a fold's) and the ablation's folds
    trainings = (profile.folds + profile.folds / (profile.folds - 1)
                 + (profile.folds if profile.ablation else 0))
    estimate = wall / args.folds * trainings * profile.epochs / args.epochs
    print(f"backend {keras.backend.backend()}, GPU {gpu_available()}, {args.clips} clips, "
          f"{args.folds} folds x {args.epochs} epochs measured; profile {args.profile}: "
          f"{profile.folds} folds + final{' + ablation folds' if profile.ablation else ''}, "
          f"{profile.epochs} epochs")
    print(f"{'measure':<44} {'value':>10}  unit")
    print(f"{'measured wall time':<44} {wall:>10.1f}  s")
    print(f"{'per fold-epoch (wall, processes included)':<44} {wall / args.folds / args.epochs:>10.2f}  s")
    print(f"{'estimated 03 training, no early stopping':<44} {estimate / 60:>10.1f}  min")


if __name__ == "__main__":
    main()
