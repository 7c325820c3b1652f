"""Two training designs side by side, in one run on one machine (issue 10's first measurement).

Run: `.venv/bin/python benchmarks/bench_designs.py [--clips 500] [--models 7] [--batch-sizes 16,64]`.
- per model (today's design): one Keras `fit` per model; the time of one model's epoch times the
  number of models.
- stacked: every model of a run in one Keras model (the same network built `--models` times on a
  shared input), one compiled step per batch, each model's loss masked to its own training clips
  (here: a random 73% of the clips per model, what a fold model of 6 trains on after its inner
  validation split), so the step also computes the masked clips.
Random tokens of the real shape: speed only. Prints a table (model-clips/s counts only the clips a
model trains on), the paper profile's notebook 03 estimated from it (13.2 trainings x 50 epochs x
733 clips, early stopping ignored), the arithmetic rate (0.11 GFLOP per model-clip, forward and
backward) and the peak resident memory. Asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

GFLOP_PER_CLIP = 0.11  # forward + backward of one training clip (10 tokens), see DESIGN.md
PAPER_MODEL_CLIP_EPOCHS = 13.2 * 50 * 733  # paper profile 03: trainings x epochs x fit clips
TRAIN_SHARE = 5 / 6 * 0.88  # a fold model's share of the clips: other folds, less its validation


def stacked_model(config, models: int):
    """`models` copies of the paper's network on one input; outputs (batch, models, genres)."""
    import keras
    from keras import layers

    from paperlib.model.network import build_model

    tokens = layers.Input((config.n_tokens, config.n_mels, config.token_frames))
    outputs = []
    for m in range(models):
        network = build_model(config, n_classes=10)  # renamed: names must be unique in one model
        outputs.append(keras.Model(network.inputs, network.output, name=f"model_{m}")(tokens))
    stacked = layers.Reshape((models, 10))(layers.Concatenate()(outputs))
    return keras.Model(tokens, stacked)


def batches(images, labels, mask, config, batch_size: int, *, models: int | None):
    """A PyDataset of token batches; with `models`, labels and the loss mask per model."""
    import keras

    from paperlib.data.features import cut_tokens

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return int(np.ceil(len(images) / batch_size))

        def __getitem__(self, index):
            take = slice(index * batch_size, (index + 1) * batch_size)
            tokens = cut_tokens(images[take], config)
            if models is None:
                return tokens, labels[take]
            return tokens, np.repeat(labels[take, None], models, axis=1), mask[take]

    return Batches()


def timed_epoch(model, data) -> float:
    model.fit(data, epochs=1, verbose=0)  # compile and warm up
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument("--models", type=int, default=7, help="6 folds + the final model")
    parser.add_argument("--batch-sizes", default="16,64")
    args = parser.parse_args()

    from paperlib.core.session import configure_environment

    configure_environment()
    import keras

    from paperlib.core.config import make_config
    from paperlib.model.network import build_model
    from paperlib.model.recipe import compile_for_training

    config = make_config()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.clips, config.n_mels, config.n_frames), dtype=np.uint8)
    labels = np.arange(args.clips) % 10
    mask = (rng.random((args.clips, args.models)) < TRAIN_SHARE).astype(np.float32)
    rows = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        keras.utils.set_random_seed(0)
        single = build_model(config, n_classes=10)
        compile_for_training(single, config)
        seconds = timed_epoch(single, batches(images, labels, mask, config, batch_size, models=None))
        # a fold model trains on TRAIN_SHARE of the clips: its epoch takes that share of this one
        rows.append(("per model (today)", batch_size, args.models * TRAIN_SHARE * seconds,
                     TRAIN_SHARE * args.clips / (TRAIN_SHARE * seconds)))
        keras.utils.set_random_seed(0)
        stacked = stacked_model(config, args.models)
        stacked.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                        loss="sparse_categorical_crossentropy")
        seconds = timed_epoch(stacked, batches(images, labels, mask, config, batch_size,
                                                models=args.models))
        rows.append(("stacked, masked loss", batch_size, seconds, mask.sum() / seconds))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend {keras.backend.backend()}, {args.clips} clips, {args.models} models, "
          f"{build_model(config, n_classes=10).count_params()} parameters per model")
    print(f"{'design':<22} {'batch':>5} {'s/epoch, all models':>20} {'model-clips/s':>14} "
          f"{'paper 03 (min)':>15} {'GFLOP/s':>8}")
    for design, batch_size, seconds, rate in rows:
        print(f"{design:<22} {batch_size:>5} {seconds:>20.1f} {rate:>14.0f} "
              f"{PAPER_MODEL_CLIP_EPOCHS / rate / 60:>15.1f} {rate * GFLOP_PER_CLIP:>8.1f}")
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
