"""Datasets: one track table and one folder of audio, whether synthetic or real GTZAN."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from paperlib.config import Config
from paperlib.datasets.genres import GENRES
from paperlib.datasets.layout import DatasetError, scan_tracks

__all__ = ["GENRES", "Dataset", "DatasetError", "load_dataset", "fingerprint"]


@dataclass(frozen=True)
class Dataset:
    """A track table (one row per clip, `path` relative to `root`) and its content fingerprint."""

    root: Path
    tracks: pd.DataFrame
    fingerprint: str

    def paths(self) -> list[Path]:
        return [self.root / p for p in self.tracks["path"]]


def fingerprint(root: Path, tracks: pd.DataFrame) -> str:
    """SHA-256 over every clip's relative path and bytes: equal fingerprints mean equal data."""
    digest = hashlib.sha256()
    for rel in tracks["path"]:
        digest.update(rel.encode() + b"\0")
        with open(root / rel, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def load_dataset(config: Config, *, progress: bool = True) -> Dataset:
    """The configured dataset's track table; the synthetic one is generated on first use."""
    from paperlib import features

    if config.dataset == "synthetic":
        from paperlib.datasets import synthetic

        root = synthetic.write_synthetic(
            seed=config.seed, clips_per_genre=config.clips_per_genre,
            sample_rate=config.sample_rate, seconds=config.clip_seconds,
            workers=config.workers, progress=progress,
        )
        genre_root, tracks = scan_tracks(root)
        truth = pd.read_csv(root / synthetic.GROUND_TRUTH)
        tracks = tracks.merge(truth.drop(columns=["genre", "index"]), on="track_id", how="left",
                              validate="one_to_one")
        tracks["motif_tokens"] = [
            ";".join(map(str, features.covering_tokens(a, b, config)))
            for a, b in zip(tracks["motif_start_s"], tracks["motif_end_s"])
        ]
    else:
        genre_root, tracks = scan_tracks(config.data_path())
    return Dataset(genre_root, tracks.reset_index(drop=True), fingerprint(genre_root, tracks))
