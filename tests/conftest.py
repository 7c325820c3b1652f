"""Shared fixtures: every test writes data and runs under a temporary folder, never the project's."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from paperlib.session import configure_environment


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Datasets and runs go to a per-test folder; library caches stay warm in the project cache."""
    configure_environment()
    monkeypatch.setenv("GENRE_SIGNATURES_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENRE_SIGNATURES_RUNS", str(tmp_path / "runs"))
    return tmp_path


def write_tone(path, *, seconds: float, sample_rate: int = 22050, channels: int = 1,
               freq: float = 440.0, subtype: str = "PCM_16"):
    """A small test clip: a sine tone with a little noise."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(0)
    audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    if channels > 1:
        audio = np.stack([audio] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, sample_rate, subtype=subtype)
    return path
