"""Every project path, computed from the package location (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # paperlib/
PROJECT_ROOT = PACKAGE_DIR.parent


def project_root() -> Path:
    """The repository root (the folder holding `paperlib/`)."""
    return PROJECT_ROOT


def params_dir() -> Path:
    """Papermill profiles (`params/<name>.yaml`)."""
    return PROJECT_ROOT / "params"


def notebooks_dir() -> Path:
    """The source notebooks, stored without outputs."""
    return PROJECT_ROOT / "notebooks"


def cache_dir() -> Path:
    """Caches of libraries and of token extraction; `GENRE_SIGNATURES_CACHE` overrides it."""
    return Path(os.environ.get("GENRE_SIGNATURES_CACHE", PROJECT_ROOT / ".cache"))


def data_dir() -> Path:
    """Generated datasets (the synthetic GTZAN lives here); `GENRE_SIGNATURES_DATA` overrides it."""
    return Path(os.environ.get("GENRE_SIGNATURES_DATA", PROJECT_ROOT / "data"))


def runs_dir() -> Path:
    """Run folders, one per profile; `GENRE_SIGNATURES_RUNS` overrides it."""
    return Path(os.environ.get("GENRE_SIGNATURES_RUNS", PROJECT_ROOT / "runs"))


def resolve(path: str | Path) -> Path:
    """A user-given path: ~ expanded; a relative path is taken from the project root, so notebooks
    (run with another working directory) and the command line agree."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
