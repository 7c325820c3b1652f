"""What notebook 09's accounts cost on a trained run, in one invocation (issue 13's <= 60 s target).

Run: `.venv/bin/python benchmarks/bench_explanations.py [--profile default] [--steps 2 4 8]`, after
the run's notebook 03 (the fold models must exist). For each number of integrated-gradient steps it
times the whole of `out_of_fold_accounts` (fold models loaded, token embeddings, occlusion,
gradients, deletion curves of three accounts and 20 random orders) over every held-out clip, and
reports how far the gradients' sum strays from the probability change they should add up to
(integrated gradients' completeness). One row without gradients (occlusion and deletion only), and
the gradient call itself eager (tape) against compiled (tf.function), per batch of 64 clips (on the
TensorFlow backend). Without a trained run it says so and exits 0. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 4, 6, 8])
    args = parser.parse_args()

    from paperlib import load_profile, setup

    config = load_profile(args.profile)
    setup(config.seed)
    from paperlib.analysis import explanations as ex
    from paperlib.data.folds import held_out_rows
    from paperlib.data.prepare import load_prepared
    from paperlib.model.attribution import TokenAttribution, gradient_function
    from paperlib.model.cross_validation import load_oof
    from paperlib.model.network import load_model

    from paperlib.core.run_folder import RunFolderError

    try:
        prepared = load_prepared(config)
        oof = load_oof(prepared.run)
    except (RunFolderError, FileNotFoundError) as exc:
        print(f"bench_explanations: skipped, it needs a trained {args.profile} run ({exc}); run "
              f"`make reproduce PROFILE={args.profile}` (or `paperlib train --profile {args.profile}`) first.")
        return
    rows = np.flatnonzero(held_out_rows(oof["fold"]))
    out = []
    for steps in [None, *args.steps]:
        started = time.perf_counter()
        accounts = ex.out_of_fold_accounts(prepared.run, prepared.tokens_of, oof, rows, seed=config.seed,
                                           gradient_steps=steps)
        seconds = time.perf_counter() - started
        stray = float("nan")
        if steps is not None:  # completeness: sum over tokens = p(clip) - p(neutral clip)
            fold0 = rows[oof["fold"][rows] == oof["fold"][rows].min()][:64]
            account = TokenAttribution.of_model(load_model(prepared.run.path_of(
                "model", pooling="attention", fold=int(oof["fold"][fold0[0]]))), prepared.tokens_of(fold0))
            neutral = account.head_probs(np.repeat(account.neutral[:, None], account.tokens.shape[1], axis=1))
            picked = np.arange(len(fold0)), account.target
            change = account.probs[picked] - neutral[picked]
            stray = float(np.abs(account.integrated_gradients(steps).sum(axis=1) - change).mean())
        out.append(("accounts, gradients " + (f"{steps} steps" if steps else "off"), seconds, stray,
                    len(accounts.rows)))

    import keras

    if keras.backend.backend() != "tensorflow":
        print_table(out, prepared.run.path.name, len(rows))
        return
    import tensorflow as tf

    model = load_model(prepared.run.path_of("model", pooling="attention", fold=int(oof["fold"][rows[0]])))
    tokens = prepared.tokens_of(rows[:64])
    targets = np.zeros(len(tokens), np.int32)

    def eager(x, t):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            picked = tf.gather(model(x, training=False), t, axis=1, batch_dims=1)
        return tape.gradient(picked, x).numpy()

    for name, call in (("gradient call, eager tape", eager), ("gradient call, tf.function", gradient_function(model))):
        call(tokens, targets)  # warm up (tracing)
        started = time.perf_counter()
        for _ in range(3):
            call(tokens, targets)
        out.append((name, (time.perf_counter() - started) / 3, float("nan"), len(tokens)))

    print_table(out, prepared.run.path.name, len(rows))


def print_table(rows: list[tuple[str, float, float, int]], run: str, clips: int) -> None:
    print(f"# explanations on run {run} ({clips} held-out clips), "
          f"{platform.processor() or platform.machine()}, {platform.python_version()}")
    print("| what | seconds | completeness error (mean abs) | clips |")
    print("|---|---|---|---|")
    for name, seconds, stray, n in rows:
        print(f"| {name} | {seconds:.2f} | {'' if np.isnan(stray) else f'{stray:.4f}'} | {n} |")


if __name__ == "__main__":
    main()
