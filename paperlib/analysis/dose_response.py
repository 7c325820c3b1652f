"""Attention pooling against mean pooling in one run, with the run's difficulty setting: what a
dose-response across runs of the synthetic data needs (how hard the planted moment is to find:
its level, decoys of the paired genre, clips per genre)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paperlib.analysis.attention import recovery
from paperlib.analysis.confusion import mcnemar
from paperlib.core.run_folder import RunFolder
from paperlib.data.folds import held_out_rows
from paperlib.model.cross_validation import load_oof

DIFFICULTY_AXES = ("decoys", "motif_db", "clips_per_genre")  # config fields that set the difficulty


@dataclass(frozen=True)
class PoolingComparison:
    """One run's held-out clips: attention's and mean pooling's accuracy, McNemar's counts, and
    how often attention's peak token covers the planted moment (`attention.recovery`)."""

    seed: int
    setting: dict[str, float]  # the run's DIFFICULTY_AXES values
    clips: int
    attention_accuracy: float
    mean_accuracy: float
    attention_only: int  # clips attention gets right and mean pooling wrong
    mean_only: int  # and the other way round
    p_value: float  # exact McNemar
    recovery: float
    chance: float  # recovery of a random token


def compare_poolings(run: RunFolder) -> PoolingComparison:
    """The comparison of a finished run trained with the ablation (steps 01 and 03 done)."""
    config = run.config
    if not config.ablation:
        raise ValueError(f"The run {run.path} was trained without the mean-pooling ablation "
                         "(ablation: false): train it with ablation=true to compare the poolings.")
    attention, mean = load_oof(run, "attention"), load_oof(run, "mean")
    rows = held_out_rows(attention["fold"])
    labels = attention["label"][rows]
    right = attention["genre"][rows].argmax(1) == labels
    mean_right = mean["genre"][rows].argmax(1) == labels
    test = mcnemar(right, mean_right)
    tracks = run.load_table("tracks")
    if "motif_tokens" not in tracks:
        raise ValueError(f"The run {run.path} has no planted moments (dataset {config.dataset!r}): "
                         "a dose-response needs the synthetic data.")
    found = recovery(attention["attention"][rows], tracks["motif_tokens"].to_numpy()[rows], right,
                     genres=tracks["genre"].to_numpy()[rows]).loc["overall"]
    return PoolingComparison(
        seed=config.seed, setting={axis: getattr(config, axis) for axis in DIFFICULTY_AXES},
        clips=int(rows.sum()),
        attention_accuracy=float(np.mean(right)), mean_accuracy=float(np.mean(mean_right)),
        attention_only=test.b, mean_only=test.c, p_value=test.p_value,
        recovery=float(found["recovery"]), chance=float(found["chance"]))
