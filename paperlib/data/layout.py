"""Reading a GTZAN-layout folder into a track table (one row per clip).

Both layouts in use are found from the folder the user names or any folder above them:
the original `genres/<genre>/<genre>.000NN.au` and Kaggle's `genres_original/<genre>/<genre>.000NN.wav`
(also under `Data/`). The synthetic dataset is written in the second layout, so one loader reads both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paperlib.data.genres import GENRES

AUDIO_SUFFIXES = (".wav", ".au", ".mp3", ".flac", ".ogg")
_CLIP_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})$")


class DatasetError(ValueError):
    """A dataset folder that cannot be read: the message says what is wrong and what to do."""


def _has_genre_folders(folder: Path) -> bool:
    return any((folder / g).is_dir() for g in GENRES)


def find_genre_root(folder: str | Path, *, max_depth: int = 3) -> Path:
    """The folder that directly holds the genre subfolders, searched from `folder` downwards."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(
            f"Data folder {folder} does not exist. Set data_dir to the folder holding GTZAN "
            "(with genres/ or genres_original/ inside), or fetch it first with `paperlib fetch gtzan`."
        )
    frontier = [folder]
    for _ in range(max_depth + 1):
        for candidate in frontier:
            if _has_genre_folders(candidate):
                return candidate
        preferred = ("genres_original", "genres", "Data")
        frontier = sorted(
            (p for f in frontier for p in f.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: (p.name not in preferred, str(p)),
        )
    raise DatasetError(
        f"No genre folders found in {folder} or below (looked {max_depth} levels deep for "
        f"folders named {', '.join(GENRES)}). Point data_dir at the GTZAN folder."
    )


def scan_tracks(folder: str | Path) -> tuple[Path, pd.DataFrame]:
    """Find the genre root and list its clips: track_id, genre, label, path (relative to the root)."""
    root = find_genre_root(folder)
    subfolders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in subfolders if name not in GENRES]
    if unknown:
        raise DatasetError(
            f"Unknown genre folder(s) {unknown} in {root}: GTZAN's genres are {', '.join(GENRES)}. "
            "Move the other folders out of the dataset."
        )
    rows = []
    for genre in GENRES:
        files = sorted(p for p in (root / genre).glob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if (root / genre).is_dir() and not files:
            raise DatasetError(f"Genre folder {root / genre} holds no audio files ({AUDIO_SUFFIXES}).")
        for path in files:
            match = _CLIP_NAME.match(path.stem)
            rows.append({
                "track_id": path.stem,
                "genre": genre,
                "label": GENRES.index(genre),
                "path": path.relative_to(root).as_posix(),
                "number": int(match["number"]) if match else -1,
            })
    table = pd.DataFrame(rows, columns=["track_id", "genre", "label", "path", "number"])
    if table.empty:
        raise DatasetError(f"No audio files under {root}.")
    return root, table
