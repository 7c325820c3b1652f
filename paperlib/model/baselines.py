"""Baselines on the same folds: logistic regression on per-clip MFCC statistics."""

from __future__ import annotations

import numpy as np

from paperlib.core.run_folder import RunFolder
from paperlib.data.folds import VALIDATION, held_out_rows
from paperlib.data.prepare import Prepared


def mfcc_logistic_oof(stats: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold class probabilities of a standardised logistic regression on MFCC statistics
    (zeros for clips no fold holds out)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n_classes = int(labels.max()) + 1
    probs = np.zeros((len(labels), n_classes))
    for fold in np.unique(folds[folds >= 0]):  # negative markers: never held out
        # like the CNN: a fixed validation set (fault-filtered "valid") is not trained on
        train, test = (folds != fold) & (folds != VALIDATION), folds == fold
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
        model.fit(stats[train], labels[train])
        probs[np.ix_(test, model.classes_)] = model.predict_proba(stats[test])
    return probs


def run_mfcc_baseline(prepared: Prepared, clip_folds: np.ndarray) -> np.ndarray:
    """Step 03: out-of-fold probabilities of the MFCC-statistics baseline on the same folds, saved."""
    probs = mfcc_logistic_oof(prepared.mfcc_stats, prepared.labels, clip_folds)
    prepared.run.save_arrays("mfcc_oof", {"genre": probs, "fold": clip_folds, "label": prepared.labels})
    return probs


def load_mfcc_baseline(run: RunFolder) -> dict[str, np.ndarray]:
    return run.load_arrays("mfcc_oof")


def held_out_accuracy(probs: np.ndarray, labels: np.ndarray, clip_folds: np.ndarray) -> float:
    """Accuracy of class probabilities on the held-out clips (every clip, except with the
    fault-filtered lists: the test clips)."""
    rows = held_out_rows(clip_folds)
    return float(np.mean(np.asarray(probs)[rows].argmax(1) == np.asarray(labels)[rows]))


def chance_level(labels: np.ndarray, clip_folds: np.ndarray) -> float:
    """The accuracy of always answering the most common genre of the held-out clips."""
    held_out = np.asarray(labels)[held_out_rows(clip_folds)]
    return float(np.bincount(held_out).max() / len(held_out))
