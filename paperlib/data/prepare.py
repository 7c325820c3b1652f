"""Step 01 of a run: load (or generate) the dataset, keep the clips its split uses, extract the
tokens (cached) and save the track table and the features in the run folder (`prepare_data`);
later steps read them back (`load_prepared`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.run_folder import RunFolder, RunFolderError, open_run
from paperlib.data.dataset import Dataset, DatasetError, load_dataset
from paperlib.data.features import cut_tokens
from paperlib.data.gtzan_splits import missing_from_dataset
from paperlib.data.metadata import fault_filtered_lists
from paperlib.data.token_cache import extract_images


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


def _apply_split_lists(dataset: Dataset,
                       config: Config) -> tuple[Dataset, dict[str, str], list[str]]:
    """With split: fault-filtered, only the clips in the published lists (the rest are faulty);
    also the listed clips the folder lacks."""
    if config.split != "fault-filtered":
        return dataset, {}, []
    import hashlib

    listed = fault_filtered_lists(config)
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
    run.save_table("tracks", tracks)
    run.save_arrays("features", dict(track_ids=np.array(images.track_ids), images=images.images,
                    mfcc_stats=images.mfcc_stats))
    report = PreparationReport(dataset, images.skipped, images.cache_hit,
                               time.perf_counter() - start, left_out, missing)
    return Prepared(run, tracks, images.images, images.mfcc_stats), report


def _refuse_empty_genres(dataset: Dataset, usable: pd.DataFrame, skipped: dict[str, str]) -> None:
    """A genre whose every file was skipped would vanish from the run: say which, and why."""
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
    tracks = run.load_table("tracks")
    features = run.load_arrays("features")
    if list(features["track_ids"]) != list(tracks["track_id"]):
        raise RunFolderError(f"{run.path}: the track table and the features disagree; run notebook "
                             "01_data again.")
    return Prepared(run, tracks, features["images"], features["mfcc_stats"])


