"""Kaggle's GTZAN feature table (`features_30_sec.csv`): librosa statistics of the 1000 real clips,
real data about real GTZAN that needs no audio. `read_feature_table` parses and checks it;
`real_gtzan_data` fetches it (and the public metadata that gives artists and the fault-filtered
lists) into the project cache, saying what could not be fetched instead of failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.core import paths
from paperlib.core.config import Config
from paperlib.data.download import (
    FEATURES_FILE,
    FEATURES_SHA256,
    DownloadError,
    fetch_features,
)
from paperlib.data.genres import GENRES
from paperlib.data.gtzan_splits import track_id_of
from paperlib.data.metadata import artist_index, fault_filtered_lists

NOT_STATISTICS = ("filename", "length", "label")  # the clip's name, its length in samples, its genre


@dataclass(frozen=True)
class FeatureTable:
    """One row per clip: `tracks` (track_id, genre, label = index in GENRES) and `statistics`
    (clips, statistics) with the statistic of each column named in `columns`."""

    tracks: pd.DataFrame
    statistics: np.ndarray
    columns: list[str]

    @property
    def labels(self) -> np.ndarray:
        return self.tracks["label"].to_numpy()


def read_feature_table(path: str | Path) -> FeatureTable:
    """Parse `features_30_sec.csv`: a `filename` (blues.00000.wav), a `label` among GENRES and
    numeric statistics; ValueError naming what is wrong (missing columns, unknown genres, gaps,
    repeated clips)."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable CSV table ({type(exc).__name__}).") from None
    lacking = [c for c in ("filename", "label") if c not in table]
    columns = [c for c in table.columns if c not in NOT_STATISTICS]
    if lacking or not columns:
        raise ValueError(f"{path} lacks the column(s) {lacking or ['statistics']}; expected Kaggle's "
                         f"{FEATURES_FILE} (filename, length, statistics..., label).")
    unknown = sorted(set(table["label"].astype(str)) - set(GENRES))
    if unknown:
        raise ValueError(f"{path}: unknown genre label(s) {unknown}; expected some of {list(GENRES)}.")
    values = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = [columns[j] for j in np.flatnonzero(~np.isfinite(values).all(axis=0))]
    if bad:
        raise ValueError(f"{path}: the column(s) {bad[:5]} hold gaps or non-numbers.")
    track_ids = [track_id_of(str(name)) for name in table["filename"]]
    repeated = sorted({t for t in track_ids if track_ids.count(t) > 1})
    if repeated:
        raise ValueError(f"{path}: clips listed more than once: {repeated[:5]}")
    genres = table["label"].astype(str)
    tracks = pd.DataFrame({"track_id": track_ids, "genre": genres,
                           "label": genres.map(GENRES.index).astype(int)})
    return FeatureTable(tracks, values, columns)


@dataclass(frozen=True)
class RealGtzanData:
    """What could be fetched of the real-GTZAN reference: the feature table, Sturm's artist index
    and the fault-filtered lists (None when not fetched), and `problems`: what is missing -> why."""

    table: FeatureTable | None
    artists: pd.DataFrame | None
    filtered: pd.Series | None
    problems: dict[str, str] = field(default_factory=dict)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def features_folder() -> Path:
    """Where the feature table is kept once verified (the project cache)."""
    return paths.cache_dir() / "gtzan-features"


def features_path(config: Config) -> Path:
    """The feature table, fetched and verified once into `features_folder()` (`features_url`: a mirror)."""
    return fetch_features(features_folder(), base_url=config.features_url)


def real_gtzan_data(config: Config) -> RealGtzanData:
    """The feature table and the metadata, each None with the reason and the command that fetches
    it when it cannot be had (no network, a wrong mirror)."""
    try:
        table = read_feature_table(features_path(config))
    except (DownloadError, OSError) as exc:  # a malformed URL (ValueError) is the user's to fix
        fix = ("run `paperlib fetch features --dest DIR` where the pinned origins are reachable and "
               "set `features_url` to file:///absolute/path/to/DIR (or a mirror's URL), or put "
               f"{FEATURES_FILE} (SHA-256 {FEATURES_SHA256}) into {features_folder()}")
        return RealGtzanData(None, None, None, {"feature table": f"{_first_line(exc)} To fix: {fix}."})
    try:
        artists = artist_index(config)
        filtered = fault_filtered_lists(config)
    except (DownloadError, OSError) as exc:  # a malformed URL (ValueError) is the user's to fix
        fix = ("run `paperlib fetch metadata --dest DIR` where they are reachable and set "
               "`metadata_url` to file:///absolute/path/to/DIR")
        return RealGtzanData(table, None, None, {
            "GTZAN metadata (artists, fault-filtered lists)": f"{_first_line(exc)} To fix: {fix}."})
    return RealGtzanData(table, artists, filtered)
