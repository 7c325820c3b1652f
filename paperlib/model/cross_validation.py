"""Step 03: stratified k-fold cross-validation of a run (paper section 3.1), resumable fold by fold.

Every fold model trains on the other folds and predicts its held-out clips; the final model trains
on every clip. The out-of-fold outputs, the final model's outputs and every fold model's signatures
are saved in the run folder for the analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.parallel import gpu_available, processes_that_fit, worker_count
from paperlib.core.registry import FINAL
from paperlib.core.run_folder import RunFolder, RunFolderError
from paperlib.data.folds import assign_folds, fold_assignment, fold_count
from paperlib.data.prepare import Prepared, load_prepared, prepare_data
from paperlib.model.baselines import held_out_accuracy
from paperlib.model.training import (
    FOLD_PROCESS_BYTES,
    FoldResult,
    fold_label,
    train_fold_in_worker,
    discard_final_attempts,
    in_sample_accuracy,
    keep_final_attempt,
    load_fold,
    train_fold,
)

FINAL_ATTEMPTS = 3  # trainings of the final model at most (see _best_final_model)


@dataclass(frozen=True)
class CVResults:
    folds: list[FoldResult]
    final: FoldResult | None


def _report(result: FoldResult, config: Config) -> None:
    what = "in-sample accuracy" if result.fold == FINAL else "accuracy"
    print(f"{fold_label(result.fold, config)}: {what} {result.accuracy:.3f} after "
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
            print(f"{fold_label(fold, config)}: complete, reused "
                  f"(accuracy {found.accuracy:.3f})", flush=True)
            results[fold] = found
            if fold == FINAL:
                discard_final_attempts(run, config.pooling)  # left by an interrupted clean-up
    choose_final = FINAL in wanted and FINAL not in results
    if choose_final:
        _refuse_final_before_folds(run, config, n_folds, [*results, *wanted])
        first = load_fold(run, config.pooling, FINAL, attempt=0)
        if first is not None:
            print(f"final model: attempt 1 complete, reused (in-sample accuracy "
                  f"{first.accuracy:.3f})", flush=True)
            results[FINAL] = first
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
        names = ", ".join(fold_label(f, config) for f in todo)
        device = "sharing the GPU" if gpu_available() else "on the CPU"
        print(f"training {names} in {processes} processes {device}", flush=True)
        threads = max(1, cores // processes)
        jobs = Parallel(n_jobs=processes, return_as="generator_unordered")(
            delayed(train_fold_in_worker)(fold, images, labels, folds, config, run.path, threads)
            for fold in todo)
        for result in jobs:
            results[result.fold] = result
            _report(result, config)
    if choose_final:
        for fold in range(n_folds):  # the bar counts every fold model of the run, listed or not
            results[fold] = results.get(fold) or load_fold(run, config.pooling, fold)
        results[FINAL] = _best_final_model(results, images, labels, folds, config, run,
                                           progress=progress)
    if only is not None:
        return None
    return CVResults([results[fold] for fold in range(n_folds)], results.get(FINAL))


def _refuse_final_before_folds(run: RunFolder, config: Config, n_folds: int,
                               coming: list[int]) -> None:
    """The final model is judged against every fold model (`_best_final_model`): refuse it, before
    training anything, while some fold is neither trained nor about to be."""
    missing = [fold for fold in range(n_folds)
               if fold not in coming and load_fold(run, config.pooling, fold) is None]
    if missing:
        listed = " ".join(map(str, missing))
        raise RunFolderError(
            f"The final model (-1) is kept only once it fits its clips as well as the fold models "
            f"predict unseen ones, so every fold model must be trained first; fold(s) {listed} of "
            f"{run.path} are not (or are still training elsewhere). Train them with `paperlib "
            f"train --folds {listed}` (same --profile and --set), then the final model; nothing "
            "was trained.")


def _best_final_model(results: dict[int, FoldResult], images: np.ndarray, labels: np.ndarray,
                      folds: np.ndarray, config: Config, run: RunFolder, *,
                      progress: bool) -> FoldResult:
    """The final model, trained again from another seed (up to FINAL_ATTEMPTS in all) while it fits
    its own training clips (`in_sample_accuracy`) worse than the run's k fold models predict unseen
    ones on average: an attention model can miss the decisive moments in one training and find them
    in another, and 05, 06, 08 and `paperlib similar` need a final model that learned what the folds
    learned. `results` holds every fold model and the first attempt (attempt 0); the best attempt
    (the earliest of equals) moves into the final folder, the others are deleted. Only the fold
    models' held-out predictions are ever scored."""
    attempts = [results[FINAL]]
    bar = float(np.mean([results[fold].accuracy for fold in results if fold != FINAL]))
    while attempts[-1].accuracy < bar and len(attempts) < FINAL_ATTEMPTS:
        attempt = len(attempts)
        print(f"final model: in-sample accuracy {attempts[-1].accuracy:.3f} is under the folds' "
              f"mean held-out accuracy {bar:.3f}; training it again from another seed (attempt "
              f"{attempt + 1} of {FINAL_ATTEMPTS})", flush=True)
        found = load_fold(run, config.pooling, FINAL, attempt=attempt)
        attempts.append(found or train_fold(FINAL, images, labels, folds, config, run,
                                            progress=progress, attempt=attempt))
        _report(attempts[-1], config)
    best = int(np.argmax([a.accuracy for a in attempts]))  # the first of equals
    if len(attempts) > 1:
        print(f"final model: keeping attempt {best + 1} (in-sample accuracy "
              f"{attempts[best].accuracy:.3f})", flush=True)
    keep_final_attempt(run, config.pooling, best)
    return attempts[best]


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


@dataclass(frozen=True)
class CrossValidation:
    oof: dict[str, np.ndarray]  # OUTPUTS, "fold" and "label", one row per clip
    folds: pd.DataFrame  # one row per fold
    histories: list[pd.DataFrame]
    final: dict[str, np.ndarray] | None  # the all-clip model's OUTPUTS for every clip (in-sample)

    @property
    def accuracy(self) -> float:
        """On the held-out clips (every clip, except with the fault-filtered lists: the test clips)."""
        return held_out_accuracy(self.oof["genre"], self.oof["label"], self.oof["fold"])

    @property
    def final_in_sample_accuracy(self) -> float | None:
        """The final model's `in_sample_accuracy`, or None without a final model."""
        if self.final is None:
            return None
        return in_sample_accuracy(self.final["genre"], self.oof["label"], self.oof["fold"])


def run_cross_validation(prepared: Prepared, config: Config, *, progress: bool = True,
                         final: bool = True) -> CrossValidation:
    """Step 03: train (or resume) every fold and, if `final`, the all-clip model; save outputs."""
    clip_folds = fold_assignment(prepared.tracks, config)
    cv = cross_validate(prepared.images, prepared.labels, config, prepared.run, progress=progress,
                        final=final, folds=clip_folds)
    results = cv.folds
    oof = out_of_fold(results, clip_folds)
    oof["label"] = prepared.labels
    prepared.run.save_arrays("oof", oof, pooling=config.pooling)
    if cv.final is not None:
        prepared.run.save_arrays("final_outputs", {"label": prepared.labels, **cv.final.outputs},
                                 pooling=config.pooling)
    prepared.run.save_arrays("fold_signatures", {
        "signatures": np.stack([r.all_signatures for r in results]), "fold": oof["fold"]},
        pooling=config.pooling)
    table = pd.DataFrame({
        "fold": [r.fold + 1 for r in results],
        "accuracy": [r.accuracy for r in results],
        "epochs": [len(r.history) for r in results],
        "best_epoch": [int(r.history["val_loss"].idxmin()) + 1 for r in results],
        "held_out_clips": [len(r.held_out) for r in results],
        "seconds": [r.seconds for r in results],
    })
    prepared.run.save_table("fold_table", table, pooling=config.pooling)
    return CrossValidation(oof, table, [r.history for r in results],
                           cv.final.outputs if cv.final is not None else None)


def train_some_folds(config: Config, only: list[int], *, pooling: str | None = None,
                     progress: bool = True) -> None:
    """Train only some folds of a run (FINAL = -1: the all-clip model), for a long run split over
    sessions or over machines that share the run folder; notebook 03 then reuses every finished
    fold. Prepares the data (step 01) first when the run has none yet."""
    try:
        prepared = load_prepared(config)
    except RunFolderError:
        prepared, _ = prepare_data(config, progress=progress)
    chosen = config.replace(pooling=pooling) if pooling else config
    cross_validate(prepared.images, prepared.labels, chosen, prepared.run, progress=progress,
                   final=chosen.pooling == "attention", folds=fold_assignment(prepared.tracks, chosen),
                   only=only)


def load_oof(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("oof", pooling=pooling)


def load_final(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("final_outputs", pooling=pooling)


def load_fold_signatures(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("fold_signatures", pooling=pooling)
