"""Each clip's fold: stratified random folds, artist-grouped folds (GTZAN), or the published
fault-filtered train/valid/test lists, and the inner split of a fold's training clips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.data.gtzan_splits import (
    UNUSED,
    artist_folds,
    filtered_assignment,
)
from paperlib.data.metadata import artist_index, fault_filtered_lists

# The splits (`Config.split`) in a few words, for tables, and in a sentence, for notebook 03.
SPLIT_LABELS = {"random": "random folds", "artist": "artist folds",
                "fault-filtered": "fault-filtered lists"}
SPLIT_NOTES = {
    "random": "stratified random folds (the paper's protocol)",
    "artist": "stratified folds that keep each artist in one fold (no artist leakage)",
    "fault-filtered": "Kereliuk et al.'s published train/valid/test lists: one test fold, early "
                      "stopping on valid, accuracy on the test clips only",
}
# Markers in a clip-fold array besides the folds 0..k-1 (the published fault-filtered split):
VALIDATION = -2  # the fixed early-stopping set of every model; never held out
TRAIN_ONLY = -3  # always trained on, never held out
LEFT_OUT = -4  # in none of the fault-filtered lists (a faulty clip): never trained on nor held out


def assign_folds(labels: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of each clip: stratified by label, shuffled from the seed."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    counts = np.bincount(labels)
    if counts[counts > 0].min() < folds:
        raise ValueError(
            f"folds={folds} needs at least {folds} clips of every genre; the smallest genre has "
            f"{counts[counts > 0].min()}. Use fewer folds or more clips."
        )
    out = np.empty(len(labels), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        out[held_out] = k
    return out


def inner_split(train_index: np.ndarray, labels: np.ndarray, *, fraction: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified (fit, validation) split of a fold's training clips, for early stopping."""
    from sklearn.model_selection import train_test_split

    n_classes = len(np.unique(labels[train_index]))
    n_val = max(n_classes, int(round(fraction * len(train_index))))
    fit, val = train_test_split(train_index, test_size=n_val, stratify=labels[train_index],
                                random_state=seed)
    return np.sort(fit), np.sort(val)


def fold_count(folds: np.ndarray) -> int:
    """How many held-out folds a clip-fold array has (markers not counted)."""
    return int(np.max(folds)) + 1


def held_out_rows(clip_folds: np.ndarray) -> np.ndarray:
    """Which clips were held out by some fold (all of them, except with a fixed train/valid split)."""
    return np.asarray(clip_folds) >= 0


def filtered_folds(track_ids: list[str], lists: pd.Series) -> np.ndarray:
    """The fault-filtered lists as a clip-fold array: test = fold 0, valid = VALIDATION, train =
    TRAIN_ONLY, a clip in no list LEFT_OUT (step 01 keeps the listed clips only)."""
    code = {"test": 0, "valid": VALIDATION, "train": TRAIN_ONLY, UNUSED: LEFT_OUT}
    return np.array([code[r] for r in filtered_assignment(track_ids, lists)], dtype=int)


def fold_assignment(tracks: pd.DataFrame, config: Config) -> np.ndarray:
    """Each clip's fold (`tracks`: a run's track table, row i = clip i): stratified random folds,
    (GTZAN) folds that keep each artist in one, or the published fault-filtered lists: test = fold
    0, valid = VALIDATION, train = TRAIN_ONLY."""
    if config.split == "random":
        return assign_folds(tracks["label"].to_numpy(), folds=config.folds, seed=config.seed)
    if config.split == "fault-filtered":  # 01 kept the listed clips only
        return filtered_folds(tracks["track_id"].tolist(), fault_filtered_lists(config))
    return artist_folds(tracks["track_id"].tolist(), tracks["label"].to_numpy(), artist_index(config),
                        folds=config.folds, seed=config.seed)
