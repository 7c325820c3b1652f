"""The notebooks' steps as functions: each reads what an earlier step saved in the run folder.

01 `prepare_data` -> tracks.csv + features.npz; 03 `run_cross_validation` -> oof_<pooling>.npz +
folds_<pooling>.csv. Notebooks call these and plot; tests call them too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.artifacts import RunFolder, open_run
from paperlib.config import Config
from paperlib.datasets import Dataset, load_dataset
from paperlib.features import cut_tokens
from paperlib.token_cache import extract_images

TRACKS = "tracks.csv"
FEATURES = "features.npz"


@dataclass(frozen=True)
class Prepared:
    """The usable clips of a run: track table (row i = clip i), grayscale images, MFCC statistics."""

    run: RunFolder
    tracks: pd.DataFrame
    images: np.ndarray
    mfcc_stats: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.tracks["label"].to_numpy()

    def tokens_of(self, clips: slice | np.ndarray) -> np.ndarray:
        """Float tokens (clips, n_tokens, n_mels, token_frames) of some clips."""
        return cut_tokens(self.images[clips], self.run.config)


@dataclass(frozen=True)
class PreparationReport:
    dataset: Dataset
    skipped: dict[str, str]
    cache_hit: bool
    seconds: float
    left_out: dict[str, str]  # clips the split leaves out (fault-filtered), with the reason
    missing_listed: list[str]  # listed clips that are not in the data folder (fault-filtered)

    @property
    def folder_clips(self) -> int:
        """Clips in the data folder, before unreadable files and split lists are left out."""
        return len(self.dataset.tracks) + len(self.left_out)


def _fault_filtered_lists(config: Config) -> pd.Series:
    """track_id -> train/valid/test from Kereliuk et al.'s lists (fetched and verified once)."""
    from paperlib import paths
    from paperlib.download import fetch_metadata
    from paperlib.splits import read_filtered_split

    files = fetch_metadata(paths.cache_dir() / "gtzan-metadata", base_url=config.metadata_url)
    return read_filtered_split(files["train_filtered.txt"].parent)


def _apply_split_lists(dataset: Dataset,
                       config: Config) -> tuple[Dataset, dict[str, str], list[str]]:
    """With split: fault-filtered, only the clips in the published lists (the rest are faulty);
    also the listed clips the folder lacks."""
    if config.split != "fault-filtered":
        return dataset, {}, []
    import hashlib

    from paperlib.splits import missing_from_dataset

    listed = _fault_filtered_lists(config)
    missing = missing_from_dataset(dataset.tracks["track_id"].tolist(), listed)
    keep = dataset.tracks["track_id"].isin(listed.index)
    left_out = {t: "not in the fault-filtered lists (a repeated, mislabelled or distorted clip)"
                for t in dataset.tracks.loc[~keep, "track_id"]}
    if not keep.any():
        raise ValueError(f"No clip of {dataset.root} is in the fault-filtered lists: are these "
                         "GTZAN's clips with their names (blues.00000 ...)? Use split: random.")
    tracks = dataset.tracks[keep].reset_index(drop=True)
    kept = hashlib.sha256("\0".join([dataset.fingerprint, *tracks["track_id"]]).encode()).hexdigest()
    return (Dataset(dataset.root, tracks, kept, source_fingerprint=dataset.fingerprint), left_out,
            missing)


def prepare_data(config: Config, *, progress: bool = True) -> tuple[Prepared, PreparationReport]:
    """Step 01: load (or generate) the dataset, extract tokens (cached), save them to the run."""
    start = time.perf_counter()
    run = open_run(config)
    dataset, left_out, missing = _apply_split_lists(load_dataset(config, progress=progress), config)
    run.check_dataset(dataset.fingerprint)
    images = extract_images(dataset, config, progress=progress)
    tracks = dataset.tracks.set_index("track_id").loc[images.track_ids].reset_index()
    _refuse_empty_genres(dataset, tracks, images.skipped)
    # bound only now: data refused above can be fixed and read again into the same run folder
    run.bind_dataset(dataset.fingerprint, dataset.root, source=dataset.source_fingerprint)
    run.save_table(TRACKS, tracks)
    run.save_arrays(FEATURES, track_ids=np.array(images.track_ids), images=images.images,
                    mfcc_stats=images.mfcc_stats)
    report = PreparationReport(dataset, images.skipped, images.cache_hit,
                               time.perf_counter() - start, left_out, missing)
    return Prepared(run, tracks, images.images, images.mfcc_stats), report


def _refuse_empty_genres(dataset: Dataset, usable: pd.DataFrame, skipped: dict[str, str]) -> None:
    """A genre whose every file was skipped would vanish from the run: say which, and why."""
    from paperlib.datasets import DatasetError

    empty = sorted(set(dataset.tracks["genre"]) - set(usable["genre"]))
    if empty:
        examples = "; ".join(f"{t}: {skipped[t]}" for t in
                             dataset.tracks.loc[dataset.tracks["genre"] == empty[0], "track_id"][:2]
                             if t in skipped)
        raise DatasetError(
            f"No readable clip in genre folder(s) {empty} of {dataset.root}: every file was skipped "
            f"(for example {examples}). Replace the files or remove the folder.")


def load_prepared(config: Config) -> Prepared:
    """What step 01 saved, checked against the run's parameters."""
    run = open_run(config, create=False)
    tracks = run.load_table(TRACKS, "01_data")
    features = run.load_arrays(FEATURES, "01_data")
    if list(features["track_ids"]) != list(tracks["track_id"]):
        raise RuntimeError(f"{run.path}: {TRACKS} and {FEATURES} disagree; run notebook 01_data again.")
    return Prepared(run, tracks, features["images"], features["mfcc_stats"])


def oof_name(pooling: str) -> str:
    """Out-of-fold outputs: each clip predicted by the fold model that did not see it."""
    return f"oof_{pooling}.npz"


def final_name(pooling: str) -> str:
    """The final (all-clip) model's outputs for every clip: one embedding space for 05, 06, 08."""
    return f"final_{pooling}.npz"


def fold_signatures_name(pooling: str) -> str:
    """Every clip's signature under each fold model, (folds, clips, dim), for honest retrieval."""
    return f"fold_signatures_{pooling}.npz"


def fold_assignment(prepared: Prepared, config: Config) -> np.ndarray:
    """Each clip's fold: stratified random folds, (GTZAN) folds that keep each artist in one, or
    the published fault-filtered lists: test = fold 0, valid = VALIDATION, train = TRAIN_ONLY."""
    from paperlib.training import TRAIN_ONLY, VALIDATION, assign_folds

    if config.split == "random":
        return assign_folds(prepared.labels, folds=config.folds, seed=config.seed)
    if config.split == "fault-filtered":
        from paperlib.splits import filtered_assignment

        roles = filtered_assignment(prepared.tracks["track_id"].tolist(),
                                    _fault_filtered_lists(config))
        code = {"test": 0, "valid": VALIDATION, "train": TRAIN_ONLY}  # 01 kept listed clips only
        return np.array([code[r] for r in roles])
    from paperlib import paths
    from paperlib.download import fetch_metadata
    from paperlib.splits import artist_folds, read_artist_index

    files = fetch_metadata(paths.cache_dir() / "gtzan-metadata", base_url=config.metadata_url)
    artists = read_artist_index(files["GTZANindex.txt"])
    return artist_folds(prepared.tracks["track_id"].tolist(), prepared.labels, artists,
                        folds=config.folds, seed=config.seed)


@dataclass(frozen=True)
class CrossValidation:
    oof: dict[str, np.ndarray]  # OUTPUTS, "fold" and "label", one row per clip
    folds: pd.DataFrame  # one row per fold
    histories: list[pd.DataFrame]
    final: dict[str, np.ndarray] | None  # the all-clip model's OUTPUTS for every clip (in-sample)

    @property
    def accuracy(self) -> float:
        """On the held-out clips (every clip, except with the fault-filtered lists: the test clips)."""
        from paperlib.training import held_out_rows

        rows = held_out_rows(self.oof["fold"])
        return float(np.mean(self.oof["genre"][rows].argmax(1) == self.oof["label"][rows]))

    @property
    def final_in_sample_accuracy(self) -> float | None:
        """The final model's accuracy on the clips it was trained on (a fixed validation set left
        out), or None without a final model."""
        from paperlib.training import VALIDATION

        if self.final is None:
            return None
        trained = self.oof["fold"] != VALIDATION
        return float(np.mean(self.final["genre"][trained].argmax(1) == self.oof["label"][trained]))


def run_cross_validation(prepared: Prepared, config: Config, *, progress: bool = True,
                         final: bool = True) -> CrossValidation:
    """Step 03: train (or resume) every fold and, if `final`, the all-clip model; save outputs."""
    from paperlib.training import cross_validate, out_of_fold

    clip_folds = fold_assignment(prepared, config)
    cv = cross_validate(prepared.images, prepared.labels, config, prepared.run, progress=progress,
                        final=final, folds=clip_folds)
    results = cv.folds
    oof = out_of_fold(results, clip_folds)
    oof["label"] = prepared.labels
    prepared.run.save_arrays(oof_name(config.pooling), **oof)
    if cv.final is not None:
        prepared.run.save_arrays(final_name(config.pooling), label=prepared.labels,
                                 **cv.final.outputs)
    prepared.run.save_arrays(fold_signatures_name(config.pooling),
                             signatures=np.stack([r.all_signatures for r in results]),
                             fold=oof["fold"])
    table = pd.DataFrame({
        "fold": [r.fold + 1 for r in results],
        "accuracy": [r.accuracy for r in results],
        "epochs": [len(r.history) for r in results],
        "best_epoch": [int(r.history["val_loss"].idxmin()) + 1 for r in results],
        "held_out_clips": [len(r.held_out) for r in results],
        "seconds": [r.seconds for r in results],
    })
    prepared.run.save_table(f"folds_{config.pooling}.csv", table)
    return CrossValidation(oof, table, [r.history for r in results],
                           cv.final.outputs if cv.final is not None else None)


def train_some_folds(config: Config, only: list[int], *, pooling: str | None = None,
                     progress: bool = True) -> None:
    """Train only some folds of a run (FINAL = -1: the all-clip model), for a long run split over
    sessions or over machines that share the run folder; notebook 03 then reuses every finished
    fold. Prepares the data (step 01) first when the run has none yet."""
    from paperlib.artifacts import RunFolderError
    from paperlib.training import cross_validate

    try:
        prepared = load_prepared(config)
    except RunFolderError:
        prepared, _ = prepare_data(config, progress=progress)
    chosen = config.replace(pooling=pooling) if pooling else config
    cross_validate(prepared.images, prepared.labels, chosen, prepared.run, progress=progress,
                   final=chosen.pooling == "attention", folds=fold_assignment(prepared, chosen),
                   only=only)


MFCC_BASELINE = "oof_mfcc.npz"


def run_mfcc_baseline(prepared: Prepared, clip_folds: np.ndarray) -> np.ndarray:
    """Step 03: out-of-fold probabilities of the MFCC-statistics baseline on the same folds, saved."""
    from paperlib.baselines import mfcc_logistic_oof

    probs = mfcc_logistic_oof(prepared.mfcc_stats, prepared.labels, clip_folds)
    prepared.run.save_arrays(MFCC_BASELINE, genre=probs, fold=clip_folds, label=prepared.labels)
    return probs


def load_mfcc_baseline(run: RunFolder) -> dict[str, np.ndarray]:
    return run.load_arrays(MFCC_BASELINE, "03_cv_training")


def load_oof(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays(oof_name(pooling), "03_cv_training")


def load_final(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays(final_name(pooling), "03_cv_training")


def load_fold_signatures(run: RunFolder, pooling: str = "attention") -> dict[str, np.ndarray]:
    return run.load_arrays(fold_signatures_name(pooling), "03_cv_training")
