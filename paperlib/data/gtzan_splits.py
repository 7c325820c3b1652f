"""Honest GTZAN splits: artist-grouped folds and the fault-filtered split.

Random folds (`paperlib.data.folds.assign_folds`) let one artist's clips land on both sides of a
split, which inflates GTZAN accuracies. Two remedies read public metadata:

- `read_artist_index` parses Sturm's (2012) artist/title index, and `artist_folds` builds stratified
  folds that keep each artist in one fold.
- `read_filtered_split` reads the fault-filtered train/valid/test lists of Kereliuk, Sturm & Larsen
  (2015) (443 / 197 / 290 clips, 70 faulty clips left out), and `filtered_assignment` maps them onto
  a dataset's track table; `missing_from_dataset` names listed clips the dataset lacks.

Track ids are file stems such as "blues.00000" (as in `prepared.tracks.track_id`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SPLIT_NAMES = ("train", "valid", "test")
UNUSED = "unused"
UNKNOWN_ARTIST = "unknown:"  # prefix of the artist given to an entry without one
_AUDIO_SUFFIXES = (".wav", ".au", ".mp3", ".flac")


def track_id_of(entry: str) -> str:
    """"jazz/jazz.00054.wav" -> "jazz.00054" (folder and audio extension dropped)."""
    name = entry.strip().replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in _AUDIO_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_artist_index(path: str | Path) -> pd.DataFrame:
    """Sturm's GTZANindex.txt as a table (track_id, artist, title), one row per excerpt.

    Lines read `genre.000NN.wav ::: Artist ::: Title`; `##` lines and blank lines are skipped. An
    entry without an artist gets the artist "unknown:<track_id>", a group of its own, so
    unidentified clips are never grouped together by accident; a missing title is "".
    """
    path = Path(path)
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("##"):
            continue
        if ":::" not in line:
            raise ValueError(
                f"{path}:{number}: expected 'genre.000NN.wav ::: Artist ::: Title', got {raw!r}"
            )
        fields = [field.strip() for field in line.split(":::")]
        if len(fields) > 3:
            raise ValueError(f"{path}:{number}: expected at most 3 ':::' fields, got {len(fields)}")
        fields += [""] * (3 - len(fields))
        track_id, artist, title = track_id_of(fields[0]), " ".join(fields[1].split()), fields[2]
        if not track_id:
            raise ValueError(f"{path}:{number}: entry without a file name: {raw!r}")
        rows.append((track_id, artist or f"{UNKNOWN_ARTIST}{track_id}", title))
    table = pd.DataFrame(rows, columns=["track_id", "artist", "title"])
    duplicated = table.track_id[table.track_id.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: tracks listed more than once: {duplicated[:5]}")
    if table.empty:
        raise ValueError(
            f"{path}: no entries found (expected 'genre.000NN.wav ::: Artist ::: Title')"
        )
    return table


def read_filtered_split(folder: str | Path) -> pd.Series:
    """track_id -> "train"/"valid"/"test" from `<name>_filtered.txt` in `folder`
    (one `genre/genre.000NN.wav` a line). A track in two lists (or twice in one) is refused."""
    folder = Path(folder)
    seen: dict[str, str] = {}
    for name in SPLIT_NAMES:
        path = folder / f"{name}_filtered.txt"
        if not path.is_file():
            raise FileNotFoundError(f"split list {path} not found (expected {name}_filtered.txt)")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            track_id = track_id_of(line)
            if track_id in seen:
                raise ValueError(
                    f"track {track_id} is listed in both {seen[track_id]}_filtered.txt and "
                    f"{name}_filtered.txt; a track must be in exactly one split list"
                )
            seen[track_id] = name
    if not seen:
        raise ValueError(f"the split lists in {folder} are empty")
    return pd.Series(seen, name="split").rename_axis("track_id")


def _artist_lookup(artists: pd.DataFrame | pd.Series | Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(artists, pd.DataFrame):
        if not {"track_id", "artist"} <= set(artists.columns):
            raise ValueError(
                f"artists table needs columns track_id and artist, got {list(artists.columns)}"
            )
        return dict(zip(artists.track_id, artists.artist))
    if isinstance(artists, pd.Series):
        return artists.to_dict()
    return artists


def artist_groups(track_ids: Sequence[str],
                  artists: pd.DataFrame | pd.Series | Mapping[str, str]) -> np.ndarray:
    """Each track's artist as a group key (case and repeated spaces ignored: the index spells one
    band both "Rage Against The Machine" and "... the Machine"); ValueError for a track without one."""
    track_ids = [str(t) for t in track_ids]
    lookup = _artist_lookup(artists)
    missing = [t for t in track_ids if not lookup.get(t)]
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(track_ids)} tracks have no artist in the index "
            f"(e.g. {missing[:5]}); artist folds need an artist for every track"
        )
    return np.array([" ".join(lookup[t].split()).casefold() for t in track_ids])


def artist_folds(track_ids: Sequence[str], labels: np.ndarray,
                 artists: pd.DataFrame | pd.Series | Mapping[str, str], *, folds: int,
                 seed: int) -> np.ndarray:
    """The fold (0..folds-1) of each track, stratified by label, with every artist in one fold.

    `artists` maps track_id -> artist: the table of `read_artist_index`, a Series or a dict. Every
    track must have an artist (ValueError otherwise), and there must be at least `folds` artists.
    Artists are compared ignoring case and repeated spaces.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    track_ids = [str(t) for t in track_ids]
    labels = np.asarray(labels)
    if labels.shape != (len(track_ids),):
        raise ValueError(
            f"labels has shape {labels.shape}; expected ({len(track_ids)},), one per track"
        )
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    groups = artist_groups(track_ids, artists)
    n_groups = len(np.unique(groups))
    if n_groups < folds:
        raise ValueError(
            f"folds={folds} needs at least {folds} distinct artists; the tracks have {n_groups}"
        )
    out = np.empty(len(track_ids), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        out[held_out] = k
    return out


def filtered_assignment(track_ids: Sequence[str], split: pd.Series) -> np.ndarray:
    """"train"/"valid"/"test" for each track (in the given order) from `read_filtered_split`;
    tracks in none of the lists (the faulty clips) are "unused"."""
    return np.array([split.get(str(t), UNUSED) for t in track_ids], dtype=object)


def missing_from_dataset(track_ids: Sequence[str], split: pd.Series) -> list[str]:
    """Listed tracks that the dataset lacks (e.g. a clip skipped as undecodable), sorted, so that
    a caller can warn that its split is smaller than the published one."""
    present = {str(t) for t in track_ids}
    return sorted(t for t in split.index if t not in present)
