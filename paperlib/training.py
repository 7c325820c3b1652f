"""Stratified k-fold cross-validation (paper section 3.1), resumable fold by fold.

Each fold trains on the other folds (minus a stratified inner validation split used for early
stopping) and predicts its held-out clips. A fold's files land in `cv/<pooling>/fold_<k>/` and
`done.json` is written last: a rerun skips folds that have it, and retrains any fold without it
(interrupted halfway), never trusting half a fold.
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

from paperlib.artifacts import RunFolder
from paperlib.config import Config
from paperlib.features import cut_tokens
from paperlib.model import OUTPUTS, build_model, compile_model, explain, save_model

DONE = "done.json"
# Markers in a clip-fold array besides the folds 0..k-1 (the published fault-filtered split):
VALIDATION = -2  # the fixed early-stopping set of every model; never held out
TRAIN_ONLY = -3  # always trained on, never held out
FINAL_ATTEMPTS = 3  # trainings of the final model at most (see _retrain_final_if_behind)
FOLD_PROCESS_BYTES = 1.2e9  # measured: a fold process with TensorFlow peaks near 1 GB
FINAL = -1  # the "fold" of the model trained on every clip (for embeddings and `paperlib similar`)


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


@dataclass(frozen=True)
class FoldResult:
    fold: int  # FINAL for the model trained on every clip
    held_out: np.ndarray  # clip indices (every clip for FINAL)
    outputs: dict[str, np.ndarray]  # OUTPUTS for the held-out clips
    all_signatures: np.ndarray  # this model's signature of every clip, (clips, dim)
    history: pd.DataFrame
    accuracy: float  # on the held-out clips (in-sample for FINAL)
    seconds: float


@dataclass(frozen=True)
class CVResults:
    folds: list[FoldResult]
    final: FoldResult | None


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


def fold_dir(run: RunFolder, pooling: str, fold: int):
    return run.path / "cv" / pooling / ("final" if fold == FINAL else f"fold_{fold}")


def fold_count(folds: np.ndarray) -> int:
    """How many held-out folds a clip-fold array has (markers not counted)."""
    return int(np.max(folds)) + 1


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
    lock = folder.with_name(folder.name + ".lock")
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


def _fold_name(fold: int, config: Config) -> str:
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
    `attempt` > 0 trains again from another seed."""
    folder = fold_dir(run, config.pooling, fold)
    with fold_lock(folder):
        return _train_fold_locked(fold, folder, images, labels, folds, config, run,
                                  progress=progress, attempt=attempt)


def _train_fold_locked(fold: int, folder: Path, images: np.ndarray, labels: np.ndarray,
                       folds: np.ndarray, config: Config, run: RunFolder, *,
                       progress: bool, attempt: int) -> FoldResult:
    import keras

    from paperlib.batches import token_batches

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
        callbacks.append(_epoch_bar(config.epochs, _fold_name(fold, config)))
    fitted = model.fit(token_batches(images[fit], labels[fit], config, seed=config.seed + fold),
                       validation_data=(cut_tokens(images[val], config), labels[val]),
                       epochs=config.epochs, callbacks=callbacks, verbose=0)
    history = pd.DataFrame(fitted.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    every = explain(model, cut_tokens(images, config))
    outputs = {name: values[held_out] for name, values in every.items()}
    accuracy = float(np.mean(outputs["genre"].argmax(1) == labels[held_out]))
    seconds = time.perf_counter() - start

    save_model(model, folder / "model.keras")
    history.to_csv(folder / "history.csv", index=False)
    np.savez(folder / "outputs.npz", held_out=held_out, all_signatures=every["signature"], **outputs)
    run.save_json(str((folder / DONE).relative_to(run.path)), {
        "fold": fold, "attempt": attempt, "accuracy": accuracy, "seconds": seconds,
        "epochs_run": len(history),
        "fit_clips": len(fit), "validation_clips": len(val), "held_out_clips": len(held_out)})
    return FoldResult(fold, held_out, outputs, every["signature"], history, accuracy, seconds)


def load_fold(run: RunFolder, pooling: str, fold: int) -> FoldResult | None:
    """A completed fold's results, or None when the fold is missing or incomplete."""
    folder = fold_dir(run, pooling, fold)
    if not (folder / DONE).is_file():
        return None
    done = run.load_json(str((folder / DONE).relative_to(run.path)), "03_cv_training")
    with np.load(folder / "outputs.npz") as data:
        held_out = data["held_out"]
        outputs = {name: data[name] for name in OUTPUTS}
        all_signatures = data["all_signatures"]
    return FoldResult(fold, held_out, outputs, all_signatures, pd.read_csv(folder / "history.csv"),
                      done["accuracy"], done["seconds"])


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


def _train_fold_in_worker(fold: int, images: np.ndarray, labels: np.ndarray, folds: np.ndarray,
                          config: Config, run_path: Path, threads: int) -> FoldResult:
    from paperlib.session import configure_environment

    configure_environment()
    _limit_threads(threads)
    return train_fold(fold, images, labels, folds, config, RunFolder(run_path, config),
                      progress=False)


def _report(result: FoldResult, config: Config) -> None:
    what = "in-sample accuracy" if result.fold == FINAL else "accuracy"
    print(f"{_fold_name(result.fold, config)}: {what} {result.accuracy:.3f} after "
          f"{len(result.history)} epochs in {result.seconds:.0f} s", flush=True)


def cross_validate(images: np.ndarray, labels: np.ndarray, config: Config, run: RunFolder, *,
                   progress: bool = True, final: bool = True,
                   folds: np.ndarray | None = None,
                   only: list[int] | None = None) -> CVResults | None:
    """Run (or resume) every fold, then the final model, on (clips, n_mels, n_frames) images.

    Prints one line per fold. `final=False` skips the all-clip model (CVResults.final is None).
    `folds` (each clip's fold, or a VALIDATION / TRAIN_ONLY marker) defaults to stratified random
    folds from the seed. On a CPU with
    several cores, folds train side by side in separate processes (one TensorFlow thread each),
    which on a small CPU is faster than one fold using every core; on a GPU too.
    `only` trains just those folds (FINAL = -1 for the all-clip model) and returns None: a long
    run split over several sessions or machines sharing the run folder.
    """
    from joblib import Parallel, delayed

    from paperlib.parallel import gpu_available, processes_that_fit, worker_count

    if folds is None:
        folds = assign_folds(labels, folds=config.folds, seed=config.seed)
    results: dict[int, FoldResult] = {}
    n_folds = fold_count(folds)
    wanted = [*range(n_folds), *([FINAL] if final else [])]
    if only is not None:
        unknown = sorted(set(only) - set(wanted))
        if unknown:
            raise ValueError(f"No fold(s) {unknown} in this run: folds are 0-{n_folds - 1}"
                             f"{' and -1 (the final all-clip model)' if final else ''}.")
        wanted = [fold for fold in wanted if fold in only]
    for fold in wanted:
        found = load_fold(run, config.pooling, fold)
        if found is not None:
            print(f"{_fold_name(fold, config)}: complete, reused "
                  f"(accuracy {found.accuracy:.3f})", flush=True)
            results[fold] = found
    todo = [fold for fold in wanted if fold not in results]
    cores = worker_count(config.workers)
    # each fold process holds its own TensorFlow (about 1 GB): never more than memory allows.
    # A GPU is shared the same way (session.configure_environment: memory grows as needed); the
    # model is too small to keep a GPU busy from one process.
    processes = processes_that_fit(min(cores, len(todo)), bytes_each=FOLD_PROCESS_BYTES)
    if processes <= 1:
        for fold in todo:
            results[fold] = train_fold(fold, images, labels, folds, config, run, progress=progress)
            _report(results[fold], config)
    else:
        names = ", ".join(_fold_name(f, config) for f in todo)
        device = "sharing the GPU" if gpu_available() else "on the CPU"
        print(f"training {names} in {processes} processes {device}", flush=True)
        threads = max(1, cores // processes)
        jobs = Parallel(n_jobs=processes, return_as="generator_unordered")(
            delayed(_train_fold_in_worker)(fold, images, labels, folds, config, run.path, threads)
            for fold in todo)
        for result in jobs:
            results[result.fold] = result
            _report(result, config)
    if FINAL in todo:
        results[FINAL] = _retrain_final_if_behind(results, images, labels, folds, config, run,
                                                  progress=progress)
    if only is not None:
        return None
    return CVResults([results[fold] for fold in range(n_folds)], results.get(FINAL))


def _retrain_final_if_behind(results: dict[int, FoldResult], images: np.ndarray,
                             labels: np.ndarray, folds: np.ndarray, config: Config,
                             run: RunFolder, *, progress: bool) -> FoldResult:
    """The final model, trained again from another seed (up to FINAL_ATTEMPTS in all) while it fits
    its own training clips worse than the fold models predict unseen ones on average: an attention
    model can miss the decisive moments in one training and find them in another, and 05, 06, 08 and
    `paperlib similar` need a final model that learned what the folds learned. The last attempt is
    kept; only fold models' held-out predictions are ever scored."""
    final = results[FINAL]
    fold_accuracies = [r.accuracy for f, r in results.items() if f != FINAL]
    if not fold_accuracies:
        return final
    bar = float(np.mean(fold_accuracies))
    for attempt in range(1, FINAL_ATTEMPTS):
        if final.accuracy >= bar:
            break
        print(f"final model: in-sample accuracy {final.accuracy:.3f} is under the folds' mean "
              f"held-out accuracy {bar:.3f}; training it again from another seed (attempt "
              f"{attempt + 1} of {FINAL_ATTEMPTS})", flush=True)
        final = train_fold(FINAL, images, labels, folds, config, run, progress=progress,
                           attempt=attempt)
        _report(final, config)
    return final


def out_of_fold(results: list[FoldResult], clip_folds: np.ndarray) -> dict[str, np.ndarray]:
    """Gather every fold's held-out outputs into arrays in clip order, plus each clip's fold.

    Clips that no fold holds out (VALIDATION, TRAIN_ONLY) keep their marker as `fold` and zeros
    as outputs: select evaluated rows with `held_out_rows`."""
    gathered: dict[str, np.ndarray] = {}
    n_clips = len(clip_folds)
    fold_of = np.where(np.asarray(clip_folds) < 0, clip_folds, -1)
    for result in results:
        fold_of[result.held_out] = result.fold
        for name, values in result.outputs.items():
            if name not in gathered:
                gathered[name] = np.zeros((n_clips, *values.shape[1:]), dtype=values.dtype)
            gathered[name][result.held_out] = values
    if (fold_of == -1).any():
        raise ValueError(f"{int((fold_of == -1).sum())} clips have no held-out prediction.")
    gathered["fold"] = fold_of
    return gathered


def held_out_rows(clip_folds: np.ndarray) -> np.ndarray:
    """Which clips were held out by some fold (all of them, except with a fixed train/valid split)."""
    return np.asarray(clip_folds) >= 0
