"""Stratified k-fold cross-validation (paper section 3.1), resumable fold by fold.

Each fold trains on the other folds (minus a stratified inner validation split used for early
stopping) and predicts its held-out clips. A fold's files land in `cv/<pooling>/fold_<k>/` and
`done.json` is written last: a rerun skips folds that have it, and retrains any fold without it
(interrupted halfway), never trusting half a fold. The final model's attempts train in
`cv/<pooling>/final_attempts/attempt_<n>/`; the kept one is renamed to `cv/<pooling>/final/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.files import write_json
from paperlib.core.registry import FINAL, lock_file, model_file
from paperlib.core.run_folder import RunFolder, git_commit, read_json_file
from paperlib.core.session import configure_environment
from paperlib.data.features import cut_tokens
from paperlib.data.folds import VALIDATION, inner_split
from paperlib.model.batches import token_batches
from paperlib.model.network import OUTPUTS, build_model, compile_model, explain, save_model

FOLD_PROCESS_BYTES = 1.2e9  # measured: a fold process with TensorFlow peaks near 1 GB


@dataclass(frozen=True)
class FoldResult:
    fold: int  # FINAL for the model trained on every clip
    held_out: np.ndarray  # clip indices (every clip for FINAL)
    outputs: dict[str, np.ndarray]  # OUTPUTS for the held-out clips
    all_signatures: np.ndarray  # this model's signature of every clip, (clips, dim)
    history: pd.DataFrame
    accuracy: float  # on the held-out clips (for FINAL: `in_sample_accuracy`)
    seconds: float


def in_sample_accuracy(genre: np.ndarray, labels: np.ndarray, clip_folds: np.ndarray) -> float:
    """The final model's accuracy on the clips it may train on: every clip except the fixed
    VALIDATION set (genre: its (clips, genres) outputs for every clip; clip_folds: each clip's fold
    or marker)."""
    trained = np.asarray(clip_folds) != VALIDATION
    return float(np.mean(np.asarray(genre)[trained].argmax(1) == np.asarray(labels)[trained]))


def _uniform_attention_warmup(model, epochs: int):
    """Hold the attention scores at zero (uniform weights, a mean) for the first `epochs` epochs.

    Early in training the model learns the genre families from every token; a token that looks
    unusual (such as a signature moment) then only disturbs the family features, and attention that
    is free from the start learns to ignore it before the CNN has learned what it means. Starting
    from uniform weights lets the CNN learn from every token first; then attention is let loose.
    """
    import keras

    score = model.get_layer("score")

    class Warmup(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch < epochs:
                for weight in score.weights:
                    weight.assign(keras.ops.zeros(weight.shape, dtype=weight.dtype))

    return Warmup()


def fold_dir(run: RunFolder, pooling: str, fold: int) -> Path:
    """A fold model's folder, or the kept final model's (FINAL)."""
    return run.path_of("model_dir", pooling=pooling, fold=fold)


def final_attempts_dir(run: RunFolder, pooling: str) -> Path:
    """Where the final model's attempts train, before the best moves to `fold_dir(..., FINAL)`."""
    return run.path_of("final_attempts", pooling=pooling)


def model_dir(run: RunFolder, pooling: str, fold: int, attempt: int = 0) -> Path:
    """Where `train_fold` writes a fold, or attempt `attempt` of the final model."""
    if fold == FINAL:
        return run.path_of("final_attempt_dir", pooling=pooling, attempt=attempt)
    return fold_dir(run, pooling, fold)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def fold_lock(folder: Path) -> Iterator[None]:
    """Hold `<folder>.lock` while a fold trains, so that another process or machine sharing the run
    folder refuses the fold instead of wiping it as an interrupted attempt. A lock left by a dead
    process on this machine is taken over; one from another machine needs deleting by hand."""
    lock = lock_file(folder)
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                holder = {}
            if holder.get("host") == me["host"] and not _alive(int(holder.get("pid", -1))):
                lock.unlink(missing_ok=True)  # its process is gone: an interrupted attempt
                continue
            raise RuntimeError(
                f"{folder} is being trained by process {holder.get('pid')} on "
                f"{holder.get('host')} since {holder.get('since')} (lock file {lock}). Wait for it "
                "to finish, or delete the lock file if that process is gone.") from None
    with os.fdopen(handle, "w") as out:
        json.dump(me, out)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def fold_label(fold: int, config: Config) -> str:
    if fold == FINAL:
        return "final model"
    if config.split == "fault-filtered":
        return "test split"
    return f"fold {fold + 1}/{config.folds}"


def _epoch_bar(total: int, desc: str):
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True, mininterval=1.0)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix(acc=f"{logs.get('accuracy', 0):.2f}",
                                 val_acc=f"{logs.get('val_accuracy', 0):.2f}", refresh=False)
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()


def train_fold(fold: int, images: np.ndarray, labels: np.ndarray, folds: np.ndarray,
               config: Config, run: RunFolder, *, progress: bool = True,
               attempt: int = 0) -> FoldResult:
    """Train one fold (or FINAL, on every clip) from scratch; store model, history and outputs.
    `attempt` > 0 trains again from another seed. A final model's attempt trains in its own
    folder under `final_attempts_dir`: cross_validation moves the best into place."""
    folder = model_dir(run, config.pooling, fold, attempt)
    with fold_lock(folder):
        return _train_fold_locked(fold, folder, images, labels, folds, config, run,
                                  progress=progress, attempt=attempt)


def _train_fold_locked(fold: int, folder: Path, images: np.ndarray, labels: np.ndarray,
                       folds: np.ndarray, config: Config, run: RunFolder, *,
                       progress: bool, attempt: int) -> FoldResult:
    import keras

    start = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)  # unlocked and not done: an interrupted attempt
    folder.mkdir(parents=True)
    everything = np.arange(len(labels))
    held_out = everything if fold == FINAL else np.flatnonzero(folds == fold)
    fixed_validation = np.flatnonzero(folds == VALIDATION)
    pool = np.flatnonzero((folds != fold if fold != FINAL else True) & (folds != VALIDATION))
    if fixed_validation.size:
        fit, val = pool, fixed_validation
    else:
        fit, val = inner_split(pool, labels,
                               fraction=config.validation_fraction, seed=config.seed + fold)
    keras.utils.set_random_seed(config.seed + fold + 1000 * attempt)
    model = build_model(config, n_classes=int(labels.max()) + 1)
    compile_model(model, config)
    callbacks = [keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True,
        start_from_epoch=config.early_stopping_start)]
    if config.pooling == "attention" and config.attention_warmup > 0:
        callbacks.append(_uniform_attention_warmup(model, config.attention_warmup))
    if progress:
        callbacks.append(_epoch_bar(config.epochs, fold_label(fold, config)))
    fitted = model.fit(token_batches(images[fit], labels[fit], config, seed=config.seed + fold),
                       validation_data=(cut_tokens(images[val], config), labels[val]),
                       epochs=config.epochs, callbacks=callbacks, verbose=0)
    history = pd.DataFrame(fitted.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    every = explain(model, cut_tokens(images, config))
    outputs = {name: values[held_out] for name, values in every.items()}
    if fold == FINAL:
        accuracy = in_sample_accuracy(every["genre"], labels, folds)
    else:
        accuracy = float(np.mean(outputs["genre"].argmax(1) == labels[held_out]))
    seconds = time.perf_counter() - start

    save_model(model, model_file(folder, "model"))
    history.to_csv(model_file(folder, "history"), index=False)
    np.savez(model_file(folder, "model_outputs"), held_out=held_out, all_signatures=every["signature"],
             **outputs)
    write_json(model_file(folder, "model_done"), {
        "fold": fold, "attempt": attempt, "accuracy": accuracy, "seconds": seconds,
        "epochs_run": len(history), "git_commit": git_commit(),
        "fit_clips": len(fit), "validation_clips": len(val), "held_out_clips": len(held_out)})
    return FoldResult(fold, held_out, outputs, every["signature"], history, accuracy, seconds)


def load_fold(run: RunFolder, pooling: str, fold: int, *,
              attempt: int | None = None) -> FoldResult | None:
    """A completed fold's results, or None when the fold is missing or incomplete. For FINAL,
    `attempt` reads that attempt (under `final_attempts_dir`) instead of the kept final model."""
    folder = (fold_dir(run, pooling, fold) if attempt is None
              else model_dir(run, pooling, fold, attempt))
    if not model_file(folder, "model_done").is_file():
        return None
    done = read_json_file(model_file(folder, "model_done"))
    with np.load(model_file(folder, "model_outputs")) as data:
        held_out = data["held_out"]
        outputs = {name: data[name] for name in OUTPUTS}
        all_signatures = data["all_signatures"]
    return FoldResult(fold, held_out, outputs, all_signatures, pd.read_csv(model_file(folder, "history")),
                      done["accuracy"], done["seconds"])


def keep_final_attempt(run: RunFolder, pooling: str, attempt: int) -> None:
    """Move a complete attempt of the final model into `fold_dir(run, pooling, FINAL)` in one
    rename (the folder appears complete, done.json included, or not at all); delete the other
    attempts."""
    source = model_dir(run, pooling, FINAL, attempt)
    if not model_file(source, "model_done").is_file():
        raise RuntimeError(f"{source} is not a complete attempt of the final model.")
    target = fold_dir(run, pooling, FINAL)
    with fold_lock(target):
        if target.exists():
            shutil.rmtree(target)  # unlocked: an interrupted earlier final model
        os.replace(source, target)
        discard_final_attempts(run, pooling)


def discard_final_attempts(run: RunFolder, pooling: str) -> None:
    """Delete the attempts left beside a kept final model."""
    shutil.rmtree(final_attempts_dir(run, pooling), ignore_errors=True)


def _limit_threads(threads: int) -> None:
    """Give this process's TensorFlow `threads` threads (a no-op once TensorFlow has started)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass


def train_fold_in_worker(fold: int, images: np.ndarray, labels: np.ndarray, folds: np.ndarray,
                          config: Config, run_path: Path, threads: int) -> FoldResult:
    configure_environment()
    _limit_threads(threads)
    return train_fold(fold, images, labels, folds, config, RunFolder(run_path, config),
                      progress=False)


