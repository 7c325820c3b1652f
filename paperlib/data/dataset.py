"""Datasets: one track table and one folder of audio, whether synthetic or real GTZAN."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from paperlib.core.config import Config
from paperlib.data import features, synthetic
from paperlib.data.genres import GENRES
from paperlib.data.layout import DatasetError, scan_tracks
from paperlib.data.spectrogram_images import image_paths

__all__ = ["GENRES", "Dataset", "DatasetError", "load_dataset", "fingerprint"]


@dataclass(frozen=True)
class Dataset:
    """A track table (one row per clip, `path` relative to `root`) and its content fingerprint."""

    root: Path
    tracks: pd.DataFrame
    fingerprint: str
    source_fingerprint: str | None = None  # the whole folder's, when a split list kept some clips

    def paths(self) -> list[Path]:
        return [self.root / p for p in self.tracks["path"]]

    def image_paths(self) -> list[Path | None]:
        """Each clip's spectrogram PNG (`source: images`), None where there is none."""
        if "image" not in self.tracks:
            return [None] * len(self.tracks)
        return [self.root / p if isinstance(p, str) else None for p in self.tracks["image"]]


def fingerprint(root: Path, tracks: pd.DataFrame) -> str:
    """SHA-256 over every clip's relative path and bytes (and its image's, when the table has an
    `image` column): equal fingerprints mean equal data."""
    digest = hashlib.sha256()
    columns = [c for c in ("path", "image") if c in tracks]
    for rel in tracks[columns].to_numpy().ravel():
        if not isinstance(rel, str):
            continue  # a clip without an image
        digest.update(rel.encode() + b"\0")
        with open(root / rel, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def load_dataset(config: Config, *, progress: bool = True) -> Dataset:
    """The configured dataset's track table; the synthetic one is generated on first use."""
    if config.dataset == "synthetic":
        root = synthetic.write_synthetic(
            seed=config.seed, clips_per_genre=config.clips_per_genre,
            sample_rate=config.sample_rate, seconds=config.clip_seconds,
            motif_db=config.motif_db, decoys=config.decoys, workers=config.workers, progress=progress,
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
        if config.source == "images":
            tracks["image"] = image_paths(genre_root, tracks["track_id"].tolist(),
                                          tracks["genre"].tolist())
    return Dataset(genre_root, tracks.reset_index(drop=True), fingerprint(genre_root, tracks))
