"""From audio to tokens (paper section 2.2): a grayscale log-mel image cut along time into tokens."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from paperlib.core.config import Config

TOP_DB = 80.0  # the grayscale range: 0 = 80 dB below the clip's loudest bin, 255 = the loudest


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


N_MFCC = 20


def log_mel_db(audio: np.ndarray, config: Config) -> np.ndarray:
    """Log-mel power in dB relative to the clip's loudest bin, clipped at -TOP_DB."""
    import librosa

    spec = np.abs(librosa.stft(audio, n_fft=config.n_fft, hop_length=config.hop_length)) ** 2
    mel = _mel_basis(config.sample_rate, config.n_fft, config.n_mels) @ spec
    return librosa.power_to_db(mel, ref=np.max, top_db=TOP_DB)


def to_grayscale(db: np.ndarray) -> np.ndarray:
    """dB in [-TOP_DB, 0] -> uint8 image, n_mels rows (low frequencies first) by frames."""
    return np.round((db + TOP_DB) * (255.0 / TOP_DB)).astype(np.uint8)


def mfcc_statistics(db: np.ndarray) -> np.ndarray:
    """Per-clip means and standard deviations of N_MFCC MFCCs: the classic clip-level baseline."""
    import librosa

    mfcc = librosa.feature.mfcc(S=db, n_mfcc=N_MFCC)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]).astype(np.float32)


def token_starts(config: Config) -> np.ndarray:
    """First frame of each token: evenly spread, the first at 0 and the last ending at the clip's end."""
    last = config.n_frames - config.token_frames
    if last < 0:
        raise ValueError(
            f"A clip of {config.n_frames} frames cannot hold a token of {config.token_frames} frames."
        )
    return np.round(np.linspace(0, last, config.n_tokens)).astype(int)


def token_seconds(config: Config) -> np.ndarray:
    """(n_tokens, 2) start and end time of each token, in seconds."""
    starts = token_starts(config) * config.hop_length / config.sample_rate
    length = (config.token_frames - 1) * config.hop_length / config.sample_rate
    return np.stack([starts, starts + length], axis=1)


def covering_tokens(start_s: float, end_s: float, config: Config) -> list[int]:
    """The tokens whose window holds the midpoint of the moment [start_s, end_s]."""
    mid = (start_s + end_s) / 2
    windows = token_seconds(config)
    return [i for i, (a, b) in enumerate(windows) if a <= mid <= b]


def cut_tokens(images: np.ndarray, config: Config) -> np.ndarray:
    """(clips, mels, frames) uint8 images -> (clips, tokens, mels, token_frames) float32 in [0, 1]."""
    if images.ndim != 3 or images.shape[2] != config.n_frames:
        raise ValueError(
            f"Expected images of shape (clips, {config.n_mels}, {config.n_frames}), got {images.shape}."
        )
    index = token_starts(config)[:, None] + np.arange(config.token_frames)[None, :]
    tokens = images[:, :, index]  # (clips, mels, tokens, token_frames)
    return np.ascontiguousarray(tokens.transpose(0, 2, 1, 3), dtype=np.float32) / np.float32(255.0)


def token_geometry(config: Config) -> pd.DataFrame:
    """One row per token: first frame, start and end in seconds and the overlap with the next
    token, rounded to centiseconds as shown in notebook 01."""
    windows = token_seconds(config)
    table = pd.DataFrame({"first_frame": token_starts(config), "start_s": windows[:, 0].round(2),
                          "end_s": windows[:, 1].round(2)})
    table["overlap_with_next_s"] = (table["end_s"] - table["start_s"].shift(-1)).round(2)
    return table
