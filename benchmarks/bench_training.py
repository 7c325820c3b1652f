"""Training throughput (clips/s), inference latency and peak memory of the default model.

Run: `.venv/bin/python benchmarks/bench_training.py [--clips 200] [--epochs 3]`.
Uses random tokens of the real shape, so it measures speed only. Works with any Keras backend
(`KERAS_BACKEND=jax` on a GPU machine). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    from paperlib.core.session import configure_environment

    configure_environment()
    import keras

    from paperlib.core.config import make_config
    from paperlib.model.batches import token_batches
    from paperlib.model.network import build_model, compile_model, explain

    config = make_config(batch_size=args.batch_size)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.clips, config.n_mels, config.n_frames), dtype=np.uint8)
    labels = rng.integers(0, 10, args.clips)
    keras.utils.set_random_seed(0)
    model = build_model(config, n_classes=10)
    compile_model(model, config)
    model.fit(token_batches(images[:32], labels[:32], config, seed=0), epochs=1, verbose=0)  # compile
    start = time.perf_counter()
    model.fit(token_batches(images, labels, config, seed=0), epochs=args.epochs, verbose=0)
    train_rate = args.clips * args.epochs / (time.perf_counter() - start)
    from paperlib.data.features import cut_tokens

    tokens = cut_tokens(images, config)
    explain(model, tokens[:64])
    start = time.perf_counter()
    explain(model, tokens)
    infer_ms = 1000 * (time.perf_counter() - start) / args.clips
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend {keras.backend.backend()}, {args.clips} clips, batch {args.batch_size}, "
          f"{model.count_params()} parameters")
    print(f"{'measure':<40} {'value':>10}  unit")
    print(f"{'training throughput':<40} {train_rate:>10.1f}  clips/s")
    print(f"{'inference (explain), per clip':<40} {infer_ms:>10.2f}  ms")
    print(f"{'peak resident memory':<40} {peak_mb:>10.0f}  MB")


if __name__ == "__main__":
    main()
