"""Step 03: stratified k-fold cross-validation of a run (paper section 3.1).

Every fold model trains on the other folds and predicts its held-out clips; the final model trains
on every clip; with `ablation` the mean-pooling model's folds too. All of them train together in
one program (`program`), resumable epoch by epoch. The out-of-fold outputs, the final model's
outputs and every fold model's signatures are saved in the run folder for the analyses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.registry import FINAL
from paperlib.core.run_folder import RunFolder
from paperlib.core.seeds import integer_seed
from paperlib.data.features import cut_tokens
from paperlib.data.folds import (
    VALIDATION,
    assign_folds,
    fold_assignment,
    fold_count,
    inner_split,
)
from paperlib.data.prepare import Prepared
from paperlib.model.baselines import held_out_accuracy
from paperlib.model.trainers import train_models
from paperlib.model.training_state import ModelSpec
from paperlib.model.store import (
    FoldResult,
    discard_final_attempts,
    fold_label,
    in_sample_accuracy,
    keep_final_attempt,
    load_fold,
    write_model,
)

FINAL_ATTEMPTS = 3  # trainings of the final model at most (see _best_final_model)


@dataclass(frozen=True)
class CVResults:
    folds: list[FoldResult]
    final: FoldResult | None  # the main pooling's all-clip model; None for the ablation


def poolings(config: Config) -> list[str]:
    """The poolings a run trains: its own, and mean pooling when `ablation` asks for it."""
    return [config.pooling, *(["mean"] if config.ablation and config.pooling != "mean" else [])]


def model_spec(pooling: str, fold: int, labels: np.ndarray, clip_folds: np.ndarray,
               config: Config, *, attempt: int = 0) -> ModelSpec:
    """A fold model (trained on the other folds) or the FINAL model (every clip); each stops early
    on the fixed VALIDATION clips when the split has them, else on a stratified inner split."""
    everything = np.arange(len(labels))
    held_out = everything if fold == FINAL else np.flatnonzero(clip_folds == fold)
    fixed_validation = np.flatnonzero(clip_folds == VALIDATION)
    pool = np.flatnonzero(((clip_folds != fold) | (fold == FINAL)) & (clip_folds != VALIDATION))
    if fixed_validation.size:
        fit, validation = pool, fixed_validation
    else:
        fit, validation = inner_split(pool, labels, fraction=config.validation_fraction,
                                      seed=integer_seed(config.seed, "inner_split", fold))
    return ModelSpec(pooling, fold, attempt, fit, validation, held_out, config.seed)


def _name(fold: int, pooling: str, config: Config) -> str:
    prefix = "" if pooling == config.pooling else f"{pooling} pooling, "
    return prefix + fold_label(fold, config)


def _report(result: FoldResult, config: Config, pooling: str) -> None:
    what = "in-sample accuracy" if result.fold == FINAL else "accuracy"
    print(f"{_name(result.fold, pooling, config)}: {what} {result.accuracy:.3f} after "
          f"{len(result.history)} epochs (best {result.best_epoch}) in {result.seconds:.0f} s"
          + (f", after {result.restarts} restart(s) from another seed" if result.restarts else ""),
          flush=True)


def _train(specs: list[ModelSpec], images: np.ndarray, labels: np.ndarray,
           clip_folds: np.ndarray, config: Config, run: RunFolder,
           *, progress: bool) -> list[FoldResult]:
    """Train `specs` together (one program, resumable), write and report each model; the
    checkpoint goes only once every model's folder is complete."""
    checkpoint = run.path_of("training_checkpoint")
    trained = train_models(specs, cut_tokens(images, config), labels, config, checkpoint,
                             progress=progress)
    results = [write_model(run, trained[spec.key], labels, clip_folds, config) for spec in specs]
    checkpoint.unlink(missing_ok=True)
    for spec, result in zip(specs, results, strict=True):
        _report(result, config, spec.pooling)
    return results


def cross_validate(images: np.ndarray, labels: np.ndarray, config: Config, run: RunFolder, *,
                   progress: bool = True,
                   folds: np.ndarray | None = None) -> dict[str, CVResults]:
    """Train (or reuse) every model of the run on (clips, n_mels, n_frames) images, by pooling.

    Every fold model of each pooling (`poolings`) and the final all-clip model train together in
    one program (`trainers.train_models`); a model whose folder is complete is reused, an
    interrupted program resumes from its checkpoint. Prints one line per model. `folds` (each
    clip's fold, or a VALIDATION / TRAIN_ONLY marker) defaults to stratified random folds from the
    seed.
    """
    if folds is None:
        folds = assign_folds(labels, folds=config.folds, seed=config.seed)
    n_folds = fold_count(folds)
    found, todo = _found_and_todo(run, labels, folds, config, echo=True)
    if todo:
        for result, spec in zip(_train(todo, images, labels, folds, config, run,
                                       progress=progress), todo, strict=True):
            found[spec.pooling, spec.fold] = result
    if load_fold(run, config.pooling, FINAL) is None:
        found[config.pooling, FINAL] = _best_final_model(found, images, labels, folds, config, run,
                                                         progress=progress)
    return {pooling: CVResults([found[pooling, fold] for fold in range(n_folds)],
                               found.get((pooling, FINAL)))
            for pooling in poolings(config)}


def _found_and_todo(run: RunFolder, labels: np.ndarray, folds: np.ndarray, config: Config, *,
                    echo: bool) -> tuple[dict[tuple[str, int], FoldResult], list[ModelSpec]]:
    """The run's complete models by (pooling, fold), and the specs of those still to train (the
    final model's first attempt among them); `echo` prints a line per reused model."""
    found: dict[tuple[str, int], FoldResult] = {}
    todo: list[ModelSpec] = []
    for pooling in poolings(config):
        for fold in [*range(fold_count(folds)), *([FINAL] if pooling == config.pooling else [])]:
            result = load_fold(run, pooling, fold)
            if fold == FINAL and result is not None:
                discard_final_attempts(run, pooling)  # left by an interrupted clean-up
            if fold == FINAL and result is None:
                result = load_fold(run, pooling, FINAL, attempt=0)
            if result is None:
                todo.append(model_spec(pooling, fold, labels, folds, config))
            else:
                found[pooling, fold] = result
                if echo:
                    print(f"{_name(fold, pooling, config)}: complete, reused (accuracy "
                          f"{result.accuracy:.3f})", flush=True)
    return found, todo


def train_runs_together(runs: list[Prepared], checkpoint_path: Path, *,
                        progress: bool = True) -> int:
    """Train, in one program, every model that the runs' step 03 still lacks (fold models and the
    final model's first attempt, every pooling) and write each into its own run's folder; each
    run's `run_cross_validation` then finds them complete. The runs differ only in their seed (a
    sweep's members): each model keeps its own run's clips and seeds, and with the `vector`
    trainer the program fills the device. Returns the number of models trained."""
    configs = [prepared.run.config for prepared in runs]
    common = {k: v for k, v in configs[0].result_params().items() if k != "seed"}
    for config in configs[1:]:
        differs = sorted(k for k, v in config.result_params().items() if k != "seed" and common[k] != v)
        if differs:
            raise ValueError(f"Runs train together only when they differ in their seed alone; "
                             f"{config.run_path()} also differs in {differs}.")
    seeds = [config.seed for config in configs]
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"Runs train together once per seed; seeds {sorted(seeds)} repeat one: "
                         "give each run its own seed.")
    jobs, tokens, labels, offset = [], [], [], 0
    for prepared in runs:
        config = prepared.run.config
        clip_folds = fold_assignment(prepared.tracks, config)
        _, todo = _found_and_todo(prepared.run, prepared.labels, clip_folds, config, echo=False)
        for spec in todo:  # named by its run's seed; a complete run keeps its clips' offset, so that
            # a program interrupted while writing the models resumes with the same fingerprints
            moved = dataclasses.replace(spec, fit=spec.fit + offset, validation=spec.validation + offset,
                                        held_out=spec.held_out + offset, run=f"seed-{config.seed}")
            jobs.append((moved, spec, prepared, clip_folds, offset))
        tokens.append(cut_tokens(prepared.images, config))
        labels.append(prepared.labels)
        offset += len(prepared.labels)
    if not jobs:
        return 0
    trained = train_models([moved for moved, *_ in jobs], np.concatenate(tokens), np.concatenate(labels),
                           configs[0], checkpoint_path, progress=progress)
    for moved, spec, prepared, clip_folds, start in jobs:
        model = trained[moved.key]
        own = {name: values[start:start + len(prepared.labels)] for name, values in model.outputs.items()}
        write_model(prepared.run, dataclasses.replace(model, spec=spec, outputs=own), prepared.labels,
                    clip_folds, prepared.run.config)
    checkpoint_path.unlink(missing_ok=True)
    return len(jobs)


def _best_final_model(found: dict[tuple[str, int], FoldResult], images: np.ndarray,
                      labels: np.ndarray, folds: np.ndarray, config: Config, run: RunFolder, *,
                      progress: bool) -> FoldResult:
    """The final model, trained again from another seed (up to FINAL_ATTEMPTS in all) while it fits
    its own training clips (`in_sample_accuracy`) worse than the run's k fold models predict unseen
    ones on average: an attention model can miss the decisive moments in one training and find them
    in another, and 05, 06, 08 and `paperlib similar` need a final model that learned what the folds
    learned. `found` holds every fold model and the first attempt (attempt 0); the best attempt
    (the earliest of equals) moves into the final folder, the others are deleted. Only the fold
    models' held-out predictions are ever scored."""
    attempts = [found[config.pooling, FINAL]]
    bar = float(np.mean([result.accuracy for (pooling, fold), result in found.items()
                         if pooling == config.pooling and fold != FINAL]))
    while attempts[-1].accuracy < bar and len(attempts) < FINAL_ATTEMPTS:
        attempt = len(attempts)
        print(f"final model: in-sample accuracy {attempts[-1].accuracy:.3f} is under the folds' "
              f"mean held-out accuracy {bar:.3f}; training it again from another seed (attempt "
              f"{attempt + 1} of {FINAL_ATTEMPTS})", flush=True)
        again = load_fold(run, config.pooling, FINAL, attempt=attempt)
        if again is None:
            spec = model_spec(config.pooling, FINAL, labels, folds, config, attempt=attempt)
            [again] = _train([spec], images, labels, folds, config, run, progress=progress)
        attempts.append(again)
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


def run_cross_validation(prepared: Prepared, config: Config, *,
                         progress: bool = True) -> dict[str, CrossValidation]:
    """Step 03: train (or resume) every model of the run; save each pooling's outputs."""
    clip_folds = fold_assignment(prepared.tracks, config)
    trained = cross_validate(prepared.images, prepared.labels, config, prepared.run,
                             progress=progress, folds=clip_folds)
    return {pooling: _save_pooling(prepared, pooling, cv, clip_folds)
            for pooling, cv in trained.items()}


def _save_pooling(prepared: Prepared, pooling: str, cv: CVResults,
                  clip_folds: np.ndarray) -> CrossValidation:
    results, run = cv.folds, prepared.run
    oof = out_of_fold(results, clip_folds)
    oof["label"] = prepared.labels
    run.save_arrays("oof", oof, pooling=pooling)
    if cv.final is not None:
        run.save_arrays("final_outputs", {"label": prepared.labels, **cv.final.outputs},
                        pooling=pooling)
    run.save_arrays("fold_signatures", {
        "signatures": np.stack([r.all_signatures for r in results]), "fold": oof["fold"]},
        pooling=pooling)
    table = pd.DataFrame({
        "fold": [r.fold + 1 for r in results],
        "accuracy": [r.accuracy for r in results],
        "epochs": [len(r.history) for r in results],
        "best_epoch": [r.best_epoch for r in results],
        "held_out_clips": [len(r.held_out) for r in results],
        "restarts": [r.restarts for r in results],
        "seconds": [r.seconds for r in results],
    })
    run.save_table("fold_table", table, pooling=pooling)
    return CrossValidation(oof, table, [r.history for r in results],
                           cv.final.outputs if cv.final is not None else None)


def load_oof(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("oof", pooling=pooling)


def load_final(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("final_outputs", pooling=pooling)


def load_fold_signatures(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays("fold_signatures", pooling=pooling)
