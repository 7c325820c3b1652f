"""A trained model's folder in the run: writing it, reading it back, keeping the final model.

A model's files land in `cv/<pooling>/fold_<k>/` and `done.json` is written last: a rerun reuses
models that have it and trains any model without it again, never trusting half a folder. The final
model's attempts land in `cv/<pooling>/final_attempts/attempt_<n>/`; the kept one is renamed to
`cv/<pooling>/final/`.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.files import sha256_of, write_json
from paperlib.core.registry import FINAL, model_file
from paperlib.core.run_folder import RunFolder, git_commit, read_json_file
from paperlib.data.folds import VALIDATION
from paperlib.model.network import (
    OUTPUTS,
    build_model,
    changed_since_written,
    model_file_problem,
    save_model,
)
from paperlib.model.training_state import TrainedModel


@dataclass(frozen=True)
class FoldResult:
    fold: int  # FINAL for the model trained on every clip
    held_out: np.ndarray  # clip indices (every clip for FINAL)
    outputs: dict[str, np.ndarray]  # OUTPUTS for the held-out clips
    all_signatures: np.ndarray  # this model's signature of every clip, (clips, dim)
    history: pd.DataFrame
    accuracy: float  # on the held-out clips (for FINAL: `in_sample_accuracy`)
    seconds: float
    best_epoch: int  # the epoch whose weights were kept (1-based)
    restarts: int  # how often it started again from another seed (`program.is_stuck`)


def in_sample_accuracy(genre: np.ndarray, labels: np.ndarray, clip_folds: np.ndarray) -> float:
    """The final model's accuracy on the clips it may train on: every clip except the fixed
    VALIDATION set (genre: its (clips, genres) outputs for every clip; clip_folds: each clip's fold
    or marker)."""
    trained = np.asarray(clip_folds) != VALIDATION
    return float(np.mean(np.asarray(genre)[trained].argmax(1) == np.asarray(labels)[trained]))


def fold_dir(run: RunFolder, pooling: str, fold: int) -> Path:
    """A fold model's folder, or the kept final model's (FINAL)."""
    return run.path_of("model_dir", pooling=pooling, fold=fold)


def final_attempts_dir(run: RunFolder, pooling: str) -> Path:
    """Where the final model's attempts train, before the best moves to `fold_dir(..., FINAL)`."""
    return run.path_of("final_attempts", pooling=pooling)


def model_dir(run: RunFolder, pooling: str, fold: int, attempt: int = 0) -> Path:
    """Where a fold model is written, or attempt `attempt` of the final model."""
    if fold == FINAL:
        return run.path_of("final_attempt_dir", pooling=pooling, attempt=attempt)
    return fold_dir(run, pooling, fold)


def fold_label(fold: int, config: Config) -> str:
    if fold == FINAL:
        return "final model"
    if config.split == "fault-filtered":
        return "test split"
    return f"fold {fold + 1}/{config.folds}"


def write_model(run: RunFolder, trained: TrainedModel, labels: np.ndarray,
                clip_folds: np.ndarray, config: Config) -> FoldResult:
    """Store a trained model in its folder (the final model's in its attempt's): the `.keras`
    file, history, outputs for its held-out clips, and `done.json` last."""
    spec = trained.spec
    folder = model_dir(run, spec.pooling, spec.fold, spec.attempt)
    if folder.exists():
        shutil.rmtree(folder)  # without done.json: left by an interrupted write
    folder.mkdir(parents=True)
    every, held_out = trained.outputs, spec.held_out
    outputs = {name: values[held_out] for name, values in every.items()}
    if spec.fold == FINAL:
        accuracy = in_sample_accuracy(every["genre"], labels, clip_folds)
    else:
        accuracy = float(np.mean(outputs["genre"].argmax(1) == labels[held_out]))
    model = build_model(config.replace(pooling=spec.pooling), n_classes=int(labels.max()) + 1)
    model.set_weights(trained.weights)
    save_model(model, model_file(folder, "model"))
    history = pd.DataFrame(trained.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history.to_csv(model_file(folder, "history"), index=False)
    np.savez(model_file(folder, "model_outputs"), held_out=held_out,
             all_signatures=every["signature"], **outputs)
    write_json(model_file(folder, "model_done"), {
        "fold": spec.fold, "attempt": spec.attempt, "accuracy": accuracy,
        "seconds": trained.seconds, "epochs_run": len(history), "best_epoch": trained.best_epoch,
        "restarts": trained.restarts,
        "git_commit": git_commit(), "model_sha256": sha256_of(model_file(folder, "model")),
        "fit_clips": len(spec.fit),
        "validation_clips": len(spec.validation), "held_out_clips": len(held_out)})
    return FoldResult(spec.fold, held_out, outputs, every["signature"], history, accuracy,
                      trained.seconds, trained.best_epoch, trained.restarts)


def load_fold(run: RunFolder, pooling: str, fold: int, *,
              attempt: int | None = None) -> FoldResult | None:
    """A completed fold's results, or None when the fold is missing, incomplete or its model file
    is damaged or not the one written there (`model_file_problem`, `changed_since_written`: warned,
    so that it trains again). For FINAL, `attempt` reads that attempt (under `final_attempts_dir`)
    instead of the kept final model."""
    folder = (fold_dir(run, pooling, fold) if attempt is None
              else model_dir(run, pooling, fold, attempt))
    if not model_file(folder, "model_done").is_file():
        return None
    saved = model_file(folder, "model")
    problem = model_file_problem(saved) or changed_since_written(saved)
    if problem is not None:  # as the training checkpoint: named, then trained again
        warnings.warn(f"The saved model {saved} {problem}; the model is "
                      "trained again.", stacklevel=2)
        return None
    done = read_json_file(model_file(folder, "model_done"))
    with np.load(model_file(folder, "model_outputs")) as data:
        held_out = data["held_out"]
        outputs = {name: data[name] for name in OUTPUTS}
        all_signatures = data["all_signatures"]
    return FoldResult(fold, held_out, outputs, all_signatures,
                      pd.read_csv(model_file(folder, "history")), done["accuracy"], done["seconds"],
                      done["best_epoch"], done["restarts"])


def keep_final_attempt(run: RunFolder, pooling: str, attempt: int) -> None:
    """Move a complete attempt of the final model into `fold_dir(run, pooling, FINAL)` in one
    rename (the folder appears complete, done.json included, or not at all); delete the other
    attempts."""
    source = model_dir(run, pooling, FINAL, attempt)
    if not model_file(source, "model_done").is_file():
        raise RuntimeError(f"{source} is not a complete attempt of the final model.")
    target = fold_dir(run, pooling, FINAL)
    if target.exists():
        shutil.rmtree(target)  # an interrupted earlier final model
    os.replace(source, target)
    discard_final_attempts(run, pooling)


def discard_final_attempts(run: RunFolder, pooling: str) -> None:
    """Delete the attempts left beside a kept final model."""
    shutil.rmtree(final_attempts_dir(run, pooling), ignore_errors=True)
