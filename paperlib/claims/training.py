"""Notebook 03's verdicts: 6-fold cross-validation, the attention model against MFCC statistics, and
whether every fold learns (section 3.1, abstract)."""

from __future__ import annotations

from collections.abc import Sequence

from paperlib.claims.claim import Claim
from paperlib.core.config import Config

PAPER_FOLDS = 6
LEARNS_OVER_CHANCE = 2.0  # a fold "learns" when its accuracy is above this multiple of chance


def six_fold_holds(folds: int, split: str) -> bool:
    """Whether the run used the paper's 6-fold cross-validation: the fault-filtered lists are one
    train/valid/test split, never 6-fold, whatever `folds` says."""
    return folds == PAPER_FOLDS and split != "fault-filtered"


def training_claims(fold_accuracies: Sequence[float], accuracy: float, mfcc_accuracy: float,
                    chance: float, config: Config) -> list[Claim]:
    """Section 3.1 and abstract claims from the held-out accuracy of each fold, the out-of-fold
    accuracy of the attention model and of the MFCC-statistics baseline, and the chance level."""
    lowest = float(min(fold_accuracies))
    return [
        Claim("3.1", "6-fold cross-validation", "6 folds",
              f"{len(fold_accuracies)} fold(s), {config.split} split (profile {config.profile})",
              six_fold_holds(len(fold_accuracies), config.split)),
        Claim("3.1", "overall accuracy", "not reported", f"{accuracy:.3f} out of fold", None),
        Claim("abstract", "the attention model beats clip-level statistics", "enhances classification accuracy",
              f"{accuracy:.3f} vs {mfcc_accuracy:.3f} (MFCC statistics, same folds)",
              bool(accuracy > mfcc_accuracy)),
        Claim("3.1", "every fold learns (this companion's check)", "-",
              f"lowest fold {lowest:.3f} vs chance {chance:.3f}", bool(lowest > LEARNS_OVER_CHANCE * chance)),
    ]
