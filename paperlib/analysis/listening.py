"""Audio for people: clips and their moments as light players (resampled, short). Read a clip as
the model hears it with `paperlib.data.audio.load_clip(path, config)`."""

from __future__ import annotations

import numpy as np

PLAYER_RATE = 16000  # enough for listening; keeps notebooks and the book light


def excerpt(audio: np.ndarray, sample_rate: int, start_s: float, end_s: float, *,
            context_s: float = 0.0) -> np.ndarray:
    """The samples from start_s - context_s to end_s + context_s, clipped to the clip."""
    if end_s <= start_s:
        raise ValueError(f"An excerpt needs end_s > start_s, got {start_s} .. {end_s}.")
    a = max(0, int((start_s - context_s) * sample_rate))
    b = min(len(audio), int(np.ceil((end_s + context_s) * sample_rate)))
    return audio[a:b]


def mp3_bytes(audio: np.ndarray, sample_rate: int, *, rate: int = PLAYER_RATE) -> bytes:
    """The audio as a small MP3 (resampled to `rate`, peak-normalised)."""
    import io

    import librosa
    import soundfile as sf

    if sample_rate != rate:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=rate)
    peak = float(np.abs(audio).max())
    buffer = io.BytesIO()
    sf.write(buffer, (audio / peak * 0.9) if peak > 0 else audio, rate, format="MP3",
             subtype="MPEG_LAYER_III")
    return buffer.getvalue()


def player(audio: np.ndarray, sample_rate: int, *, rate: int = PLAYER_RATE):
    """An IPython audio player holding an MP3, so notebooks and the book stay light."""
    from IPython.display import Audio

    widget = Audio(data=mp3_bytes(audio, sample_rate, rate=rate))
    widget.mimetype = "audio/mpeg"
    return widget
