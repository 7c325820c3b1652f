"""Notebook 03's verdicts: 6-fold cross-validation and whether every fold learns (section 3.1)."""

from __future__ import annotations

from collections.abc import Sequence

from paperlib.core.config import Config
from paperlib.core.results import Claim, TrainingResult
from paperlib.data.folds import held_out_rows
from paperlib.model.cross_validation import CrossValidation

PAPER_FOLDS = 6
LEARNS_OVER_CHANCE = 2.0  # a fold "learns" when its accuracy is above this multiple of chance


def six_fold_holds(folds: int, split: str) -> bool:
    """Whether the run used the paper's 6-fold cross-validation: the fault-filtered lists are one
    train/valid/test split, never 6-fold, whatever `folds` says."""
    return folds == PAPER_FOLDS and split != "fault-filtered"


def training_claims(fold_accuracies: Sequence[float], accuracy: float, chance: float,
                    config: Config) -> list[Claim]:
    """Section 3.1 claims from the held-out accuracy of each fold, the out-of-fold accuracy and the
    chance level. (Whether attention beats MFCC statistics is judged once, in notebook 04, with a
    paired test.)"""
    lowest = float(min(fold_accuracies))
    return [
        Claim("3.1", "6-fold cross-validation", "6 folds",
              f"{len(fold_accuracies)} fold(s), {config.split} split (profile {config.profile})",
              six_fold_holds(len(fold_accuracies), config.split)),
        Claim("3.1", "overall accuracy", "not reported", f"{accuracy:.3f} out of fold", None),
        Claim("3.1", "every fold learns (this companion's check)", "-",
              f"lowest fold {lowest:.3f} vs chance {chance:.3f}", bool(lowest > LEARNS_OVER_CHANCE * chance)),
    ]


def training_result(cv: CrossValidation, mean_cv: CrossValidation | None, mfcc_accuracy: float,
                    chance: float, config: Config) -> TrainingResult:
    """Notebook 03's typed result from the attention model's cross-validation, the mean-pooling
    ablation's (None when not run), the MFCC baseline's held-out accuracy and chance; with claims."""
    accuracies = cv.folds["accuracy"]
    claims = training_claims(accuracies.tolist(), cv.accuracy, chance, config)
    spread = float(accuracies.std(ddof=1)) if len(accuracies) > 1 else None
    missing = {}
    if spread is None:
        missing["fold_accuracy_std"] = "one held-out fold: no spread between folds"
    if cv.final_in_sample_accuracy is None:
        missing["final_model_in_sample_accuracy"] = "no final model was trained"
    if mean_cv is None:
        missing["mean_pool_oof_accuracy"] = "the mean-pooling ablation was not run (ablation: false)"
    return TrainingResult(
        oof_accuracy=cv.accuracy, fold_accuracies=accuracies.tolist(),
        fold_accuracy_mean=float(accuracies.mean()), fold_accuracy_std=spread,
        fold_accuracy_min=float(accuracies.min()), epochs_run=cv.folds["epochs"].tolist(),
        training_seconds=float(cv.folds["seconds"].sum()), mfcc_logistic_accuracy=mfcc_accuracy,
        chance=chance, folds=len(cv.folds), held_out_clips=int(held_out_rows(cv.oof["fold"]).sum()),
        split=config.split, final_model_in_sample_accuracy=cv.final_in_sample_accuracy,
        mean_pool_oof_accuracy=mean_cv.accuracy if mean_cv is not None else None,
        claims=claims, missing=missing)
