"""The training recipe: optimizer and loss, the learning rate of each epoch, and the augmentation
of training batches. Everything here is a function of the configuration, the epoch and the model's
own random stream, so a resumed model trains exactly as an uninterrupted one.

The paper gives Adam and cross-entropy and no schedule or augmentation; every other option here
(warm-up and cosine decay, AdamW's weight decay, gradient clipping, label smoothing, mixup, time and
frequency masks as in SpecAugment) goes beyond it and is off unless the configuration asks for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from paperlib.core.config import Config

if TYPE_CHECKING:
    import pandas as pd


def learning_rate_at(config: Config, epoch: int) -> float:
    """The learning rate of `epoch` (0-based): a linear warm-up over `lr_warmup_epochs`, then
    `learning_rate` (constant) or its cosine decay to 0 at `epochs` (cosine)."""
    if epoch < 0:
        raise ValueError(f"epoch is 0-based and non-negative, got {epoch}.")
    warmup = config.lr_warmup_epochs
    if epoch < warmup:
        return config.learning_rate * (epoch + 1) / (warmup + 1)
    if config.lr_schedule == "constant":
        return config.learning_rate
    progress = (epoch - warmup) / max(1, config.epochs - warmup)
    return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def soft_targets(config: Config) -> bool:
    """Whether training needs one-hot (soft) targets: label smoothing or mixup."""
    return config.label_smoothing > 0 or config.mixup > 0


def compile_for_training(model, config: Config) -> None:
    """Adam (AdamW with `weight_decay`), optional gradient clipping, cross-entropy (categorical
    with label smoothing when the targets are soft) and accuracy."""
    import keras

    options = {"learning_rate": config.learning_rate}
    if config.clip_norm > 0:
        options["global_clipnorm"] = config.clip_norm
    optimizer = (keras.optimizers.AdamW(weight_decay=config.weight_decay, **options)
                 if config.weight_decay > 0 else keras.optimizers.Adam(**options))
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
            if soft_targets(config) else "sparse_categorical_crossentropy")
    model.compile(optimizer=optimizer, loss=loss, weighted_metrics=["accuracy"])  # by sample weight


def augmented_batch(tokens: np.ndarray, labels: np.ndarray, n_classes: int, config: Config,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A training batch after the recipe's augmentation: (tokens, targets). Targets are the labels,
    or one-hot rows when they are soft (`soft_targets`). `tokens`: (batch, n_tokens, n_mels,
    token_frames) in [0, 1], left unchanged (a copy is augmented)."""
    targets = np.eye(n_classes, dtype=np.float32)[labels] if soft_targets(config) else labels
    if not augments(config):
        return tokens, targets
    return apply_augmentation(tokens, targets, augmentation_draws(tokens.shape, config, rng))


def augments(config: Config) -> bool:
    """Whether the recipe changes training batches (masks or mixup)."""
    return bool(config.time_mask or config.freq_mask or config.mixup)


def augmentation_draws(shape: tuple[int, ...], config: Config,
                       rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The random numbers that augment one batch of `shape` (batch, n_tokens, n_mels,
    token_frames), drawn from `rng` in a fixed order: each token's time and frequency mask
    (first and one-past-last position), mixup's partner and share. Drawn apart from
    `apply_augmentation` so that a trainer can draw on the host and apply on its device."""
    batch, n_tokens, n_mels, frames = shape
    draws: dict[str, np.ndarray] = {}
    for name, width_max, axis_size in (("time", config.time_mask, frames), ("freq", config.freq_mask, n_mels)):
        if not width_max:
            continue
        widths = rng.integers(0, min(width_max, axis_size) + 1, (batch, n_tokens))
        starts = (rng.random((batch, n_tokens)) * (axis_size - widths + 1)).astype(np.int32)
        draws[f"{name}_start"], draws[f"{name}_end"] = starts, (starts + widths).astype(np.int32)
    if config.mixup > 0:
        draws["partner"] = rng.permutation(batch).astype(np.int32)
        share = rng.beta(config.mixup, config.mixup, batch).astype(np.float32)
        draws["share"] = np.maximum(share, 1 - share)  # each clip stays the main part of its own mix
    return draws


def apply_augmentation(tokens, targets, draws: dict, xp=np):
    """`tokens` and soft `targets` augmented by `draws` (`augmentation_draws`), with the array
    module `xp` (numpy, or jax.numpy inside a compiled step): masked positions take their token's
    own mean (no new loudness), mixup blends each clip with its partner."""
    for name, axis in (("time", 3), ("freq", 2)):
        if f"{name}_start" not in draws:
            continue
        position = xp.arange(tokens.shape[axis])
        inside = ((position >= draws[f"{name}_start"][..., None])
                  & (position < draws[f"{name}_end"][..., None]))
        batch, n_tokens = tokens.shape[:2]
        shape = (batch, n_tokens, -1, 1) if axis == 2 else (batch, n_tokens, 1, -1)
        means = tokens.mean(axis=(2, 3), keepdims=True)
        tokens = xp.where(inside.reshape(shape), means, tokens)
    if "partner" in draws:
        share = draws["share"]
        tokens = (share[:, None, None, None] * tokens
                  + (1 - share[:, None, None, None]) * tokens[draws["partner"]])
        targets = share[:, None] * targets + (1 - share[:, None]) * targets[draws["partner"]]
    return tokens.astype(xp.float32), targets


def recipe_table(config: Config) -> "pd.DataFrame":
    """The training recipe of `config`, one row per choice: what the run uses and what the paper
    says about it (it gives 6-fold cross-validation and nothing else of its training)."""
    import pandas as pd

    schedule = (f"linear warm-up over {config.lr_warmup_epochs} epochs, then " if config.lr_warmup_epochs else "")
    schedule += "constant" if config.lr_schedule == "constant" else f"cosine decay to 0 at epoch {config.epochs}"
    masks = [f"time masks up to {config.time_mask} frames" if config.time_mask else "",
             f"frequency masks up to {config.freq_mask} bands" if config.freq_mask else "",
             f"mixup (Beta({config.mixup:g}, {config.mixup:g}))" if config.mixup else ""]
    monitor = {"val_loss": "the lowest validation loss",
               "val_accuracy": "the highest validation accuracy (the lowest loss among its ties)"}
    rows = [
        ("optimizer", f"{'AdamW, weight decay ' + format(config.weight_decay, 'g') if config.weight_decay else 'Adam'}"
                      f"{f', gradients clipped to norm {config.clip_norm:g}' if config.clip_norm else ''}"),
        ("learning rate", f"{config.learning_rate:g}, {schedule}"),
        ("batch", f"{config.batch_size} clips, in a seeded order per epoch"),
        ("token CNN", "batch normalisation after each convolution" if config.batch_norm
         else "no normalisation"),
        ("attention warm-up", f"uniform attention for the first {config.attention_warmup} epochs"),
        ("attention scores", "read from each token after self-attention and its residual"
         + ("" if config.attention_mix == 1 else f", the self-attention's share scaled by {config.attention_mix:g}")),
        ("epochs", f"at most {config.epochs}"),
        ("trainer", "every model of the run in one compiled step (vector, JAX)" if config.trainer == "vector"
         else "one model at a time through one compiled model (one)"),
        ("early stopping", f"from epoch {config.early_stopping_start}, after "
                           f"{config.early_stopping_patience} epochs without a better "
                           f"{config.early_stopping_monitor}; keeps {monitor[config.early_stopping_monitor]}"),
        ("inner validation", f"{config.validation_fraction:.0%} of each model's training clips, stratified"),
        ("loss", "cross-entropy" + (f", label smoothing {config.label_smoothing:g}" if config.label_smoothing else "")),
        ("augmentation", ", ".join(m for m in masks if m) or "none"),
    ]
    return pd.DataFrame(rows, columns=["choice", "this run"]).assign(
        paper="not given").set_index("choice")
