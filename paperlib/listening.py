"""Audio for people: clips and their moments as light players (resampled, short)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperlib.audio import load_clip
from paperlib.config import Config

PLAYER_RATE = 16000  # enough for listening; keeps notebooks and the book light


def clip_audio(path: str | Path, config: Config) -> np.ndarray:
    """A clip as the model hears it (the length rule applied)."""
    return load_clip(path, sample_rate=config.sample_rate, clip_seconds=config.clip_seconds,
                     min_clip_seconds=config.min_clip_seconds)


def excerpt(audio: np.ndarray, sample_rate: int, start_s: float, end_s: float, *,
            context_s: float = 0.0) -> np.ndarray:
    """The samples from start_s - context_s to end_s + context_s, clipped to the clip."""
    if end_s <= start_s:
        raise ValueError(f"An excerpt needs end_s > start_s, got {start_s} .. {end_s}.")
    a = max(0, int((start_s - context_s) * sample_rate))
    b = min(len(audio), int(np.ceil((end_s + context_s) * sample_rate)))
    return audio[a:b]


def player(audio: np.ndarray, sample_rate: int, *, rate: int = PLAYER_RATE):
    """An IPython audio player, resampled to `rate` to keep the page small."""
    import librosa
    from IPython.display import Audio

    if sample_rate != rate:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=rate)
    return Audio(audio, rate=rate, normalize=True)
