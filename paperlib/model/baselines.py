"""Baselines on the same folds: classifiers of per-clip statistics (MFCC statistics of a run's
clips, or the real GTZAN feature table), trained fold by fold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from paperlib.core.run_folder import RunFolder
from paperlib.data.folds import TRAIN_ONLY, held_out_rows
from paperlib.data.prepare import Prepared


def standardized_logistic(*, solver: str = "lbfgs") -> Any:
    """A logistic regression on standardised statistics (an unfitted sklearn pipeline); the
    solvers reach the same optimum, newton-cg several times faster on a few dozen statistics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0, solver=solver))


def standardized_svm() -> Any:
    """An RBF-kernel support vector machine on standardised statistics (unfitted, sklearn's defaults)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC())


def fitted_per_fold(make_model: Callable[[], Any], stats: np.ndarray, labels: np.ndarray,
                    folds: np.ndarray) -> Iterator[tuple[Any, np.ndarray]]:
    """(model, held-out mask) for each fold, the model fitted on the other folds' clips and the
    TRAIN_ONLY ones; like the CNN's, never on a fixed validation set (fault-filtered "valid")."""
    for fold in np.unique(folds[folds >= 0]):  # negative markers: never held out
        train, test = ((folds >= 0) & (folds != fold)) | (folds == TRAIN_ONLY), folds == fold
        yield make_model().fit(stats[train], labels[train]), test


def oof_predictions(make_model: Callable[[], Any], stats: np.ndarray, labels: np.ndarray,
                    folds: np.ndarray) -> np.ndarray:
    """Each clip's predicted class from the fold model that did not see it (-1: never held out)."""
    predicted = np.full(len(labels), -1)
    for model, test in fitted_per_fold(make_model, stats, labels, folds):
        predicted[test] = model.predict(stats[test])
    return predicted


def mfcc_logistic_oof(stats: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold class probabilities of a standardised logistic regression on MFCC statistics
    (zeros for clips no fold holds out)."""
    probs = np.zeros((len(labels), int(labels.max()) + 1))
    for model, test in fitted_per_fold(standardized_logistic, stats, labels, folds):
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
