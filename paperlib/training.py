"""Stratified k-fold cross-validation (paper section 3.1), resumable fold by fold.

Each fold trains on the other folds (minus a stratified inner validation split used for early
stopping) and predicts its held-out clips. A fold's files land in `cv/<pooling>/fold_<k>/` and
`done.json` is written last: a rerun skips folds that have it, and retrains any fold without it
(interrupted halfway), never trusting half a fold.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.artifacts import RunFolder
from paperlib.config import Config
from paperlib.features import cut_tokens
from paperlib.model import OUTPUTS, build_model, compile_model, explain, save_model

DONE = "done.json"


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
    fold: int
    held_out: np.ndarray  # clip indices
    outputs: dict[str, np.ndarray]  # OUTPUTS for the held-out clips
    history: pd.DataFrame
    accuracy: float
    seconds: float


def fold_dir(run: RunFolder, pooling: str, fold: int):
    return run.path / "cv" / pooling / f"fold_{fold}"


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
               config: Config, run: RunFolder, *, progress: bool = True) -> FoldResult:
    """Train one fold from scratch and store its model, history and held-out outputs."""
    import keras

    from paperlib.augment import batches

    start = time.perf_counter()
    folder = fold_dir(run, config.pooling, fold)
    if folder.exists():
        shutil.rmtree(folder)  # whatever is here is an interrupted attempt
    folder.mkdir(parents=True)
    held_out = np.flatnonzero(folds == fold)
    fit, val = inner_split(np.flatnonzero(folds != fold), labels,
                           fraction=config.validation_fraction, seed=config.seed + fold)
    keras.utils.set_random_seed(config.seed + fold)
    model = build_model(config, n_classes=int(labels.max()) + 1)
    compile_model(model, config)
    callbacks = [keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True,
        start_from_epoch=config.early_stopping_start)]
    if progress:
        callbacks.append(_epoch_bar(config.epochs, f"fold {fold + 1}/{config.folds}"))
    fitted = model.fit(batches(images[fit], labels[fit], config, seed=config.seed + fold,
                               augment=config.augment),
                       validation_data=(cut_tokens(images[val], config), labels[val]),
                       epochs=config.epochs, callbacks=callbacks, verbose=0)
    history = pd.DataFrame(fitted.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    outputs = explain(model, cut_tokens(images[held_out], config))
    accuracy = float(np.mean(outputs["genre"].argmax(1) == labels[held_out]))
    seconds = time.perf_counter() - start

    save_model(model, folder / "model.keras")
    history.to_csv(folder / "history.csv", index=False)
    np.savez(folder / "outputs.npz", held_out=held_out, **outputs)
    run.save_json(str((folder / DONE).relative_to(run.path)), {
        "fold": fold, "accuracy": accuracy, "seconds": seconds, "epochs_run": len(history),
        "fit_clips": len(fit), "validation_clips": len(val), "held_out_clips": len(held_out)})
    return FoldResult(fold, held_out, outputs, history, accuracy, seconds)


def load_fold(run: RunFolder, pooling: str, fold: int) -> FoldResult | None:
    """A completed fold's results, or None when the fold is missing or incomplete."""
    folder = fold_dir(run, pooling, fold)
    if not (folder / DONE).is_file():
        return None
    done = run.load_json(str((folder / DONE).relative_to(run.path)), "03_cv_training")
    with np.load(folder / "outputs.npz") as data:
        held_out = data["held_out"]
        outputs = {name: data[name] for name in OUTPUTS}
    return FoldResult(fold, held_out, outputs, pd.read_csv(folder / "history.csv"),
                      done["accuracy"], done["seconds"])


def cross_validate(images: np.ndarray, labels: np.ndarray, config: Config, run: RunFolder, *,
                   progress: bool = True) -> list[FoldResult]:
    """Run (or resume) every fold on (clips, n_mels, n_frames) images; print one line per fold."""
    folds = assign_folds(labels, folds=config.folds, seed=config.seed)
    results = []
    for fold in range(config.folds):
        result = load_fold(run, config.pooling, fold)
        if result is not None:
            print(f"fold {fold + 1}/{config.folds}: complete, reused "
                  f"(accuracy {result.accuracy:.3f})", flush=True)
        else:
            result = train_fold(fold, images, labels, folds, config, run, progress=progress)
            print(f"fold {fold + 1}/{config.folds}: accuracy {result.accuracy:.3f} after "
                  f"{len(result.history)} epochs in {result.seconds:.0f} s", flush=True)
        results.append(result)
    return results


def out_of_fold(results: list[FoldResult], n_clips: int) -> dict[str, np.ndarray]:
    """Gather every fold's held-out outputs into arrays in clip order, plus each clip's fold."""
    gathered: dict[str, np.ndarray] = {}
    fold_of = np.full(n_clips, -1)
    for result in results:
        fold_of[result.held_out] = result.fold
        for name, values in result.outputs.items():
            if name not in gathered:
                gathered[name] = np.zeros((n_clips, *values.shape[1:]), dtype=values.dtype)
            gathered[name][result.held_out] = values
    if (fold_of < 0).any():
        raise ValueError(f"{int((fold_of < 0).sum())} clips have no held-out prediction.")
    gathered["fold"] = fold_of
    return gathered
