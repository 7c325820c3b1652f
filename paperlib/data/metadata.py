"""GTZAN's public metadata for a run: Sturm's artist index and Kereliuk et al.'s fault-filtered
lists, fetched from `metadata_url` (or the pinned origins) and verified once into the project
cache, then read by `gtzan_splits`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paperlib.core import paths
from paperlib.core.config import Config
from paperlib.data.download import fetch_metadata
from paperlib.data.gtzan_splits import read_artist_index, read_filtered_split


def gtzan_metadata(config: Config) -> dict[str, Path]:
    """GTZAN's public metadata files by name, fetched and verified once into the project cache."""
    return fetch_metadata(paths.cache_dir() / "gtzan-metadata", base_url=config.metadata_url)


def artist_index(config: Config) -> pd.Series:
    """track_id -> artist from Sturm's index."""
    return read_artist_index(gtzan_metadata(config)["GTZANindex.txt"])


def fault_filtered_lists(config: Config) -> pd.Series:
    """track_id -> train/valid/test from Kereliuk et al.'s lists."""
    return read_filtered_split(gtzan_metadata(config)["train_filtered.txt"].parent)
