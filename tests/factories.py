"""Typed results with plausible defaults (a run folder's recorded numbers) and toy clips (a tiny training)."""

from __future__ import annotations

from typing import Any

import numpy as np

from paperlib.core.config import Config
from paperlib.core.results import DataResult, TrainingResult
from paperlib.data.features import token_starts


def data_result(**changes: Any) -> DataResult:
    values: dict[str, Any] = dict(
        dataset="gtzan", source="audio", clips=999, skipped=0, skipped_clips={}, left_out_by_split=0,
        listed_but_missing=[], clips_per_genre={}, image_rows=217, image_frames=335,
        token_shape=[10, 217, 45], token_seconds=3.94, token_overlap_seconds=1.05,
        token_start_frames=list(range(0, 300, 30)), cache_hit=False, seconds=1.0,
        fingerprint="a" * 64, moment_covered_by_one_token=None, chance_top1_recovery=None,
        claims=[], missing={"moment_covered_by_one_token": "GTZAN", "chance_top1_recovery": "GTZAN"})
    return DataResult(**{**values, **changes})


def training_result(*, folds: list[float], oof: float = 0.8, mfcc: float = 0.5,
                    mean_pool: float | None = 0.7, split: str = "random", **changes: Any) -> TrainingResult:
    missing = {} if mean_pool is not None else {"mean_pool_oof_accuracy": "ablation not run"}
    spread = 0.01 if len(folds) > 1 else None
    if spread is None:
        missing["fold_accuracy_std"] = "one fold"
    values: dict[str, Any] = dict(
        oof_accuracy=oof, fold_accuracies=folds, fold_accuracy_mean=sum(folds) / len(folds),
        fold_accuracy_std=spread, fold_accuracy_min=min(folds), epochs_run=[5] * len(folds),
        training_seconds=1.0, mfcc_logistic_accuracy=mfcc, chance=0.1, folds=len(folds),
        held_out_clips=100, split=split, final_model_in_sample_accuracy=0.9,
        mean_pool_oof_accuracy=mean_pool, claims=[], missing=missing)
    return TrainingResult(**{**values, **changes})


def toy_clips(**params: Any) -> tuple[np.ndarray, np.ndarray, Config]:
    """24 toy 4 s 'clips' of 3 classes: the class is the token where a bright square sits."""
    config = Config(profile="tiny", n_mels=24, token_frames=9, n_tokens=4, clip_seconds=4.0,
                         folds=2, clips_per_genre=8, batch_size=8, **params)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)
    images = rng.integers(0, 50, (24, 24, config.n_frames), dtype=np.uint8)
    for i, label in enumerate(labels):
        start = token_starts(config)[label]
        images[i, 8:16, start + 2:start + 7] = 255
    return images, labels, config


def toy_prepared(run_dir, **params: Any):
    """`toy_clips` as step 01 leaves them for step 03: a `Prepared` run in `run_dir`."""
    import pandas as pd

    from paperlib.core.run_folder import open_run
    from paperlib.data.prepare import Prepared

    images, labels, config = toy_clips(run_dir=str(run_dir), **params)
    tracks = pd.DataFrame({"track_id": [f"toy.{i:05d}" for i in range(len(labels))], "label": labels})
    return Prepared(open_run(config), tracks, images, np.zeros((len(labels), 2), np.float32))
