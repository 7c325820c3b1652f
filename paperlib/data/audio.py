"""Reading audio files into fixed-length mono clips, with clear errors for bad input.

The length rule: a clip longer than `clip_seconds` keeps its centred `clip_seconds`; a shorter one
(at least `min_clip_seconds`) is padded with silence at the end. GTZAN's 29.9-30.1 s clips lose or
gain a few hundredths of a second; a 4 s clip fills its first token and leaves the rest silent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from paperlib.core.config import Config


class AudioError(ValueError):
    """An audio file that cannot be used: it names the file, the problem and what to do."""


def read_audio(path: str | Path, *, sample_rate: int) -> tuple[np.ndarray, int]:
    """Decode any format librosa reads to mono float32 at `sample_rate`; also return the file's own rate."""
    import librosa
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"Audio file {path} does not exist.")
    try:
        info = sf.info(str(path))
    except Exception:
        info = None
    if info is not None and info.format == "RAW":  # libsndfile guessed: no audio header at all
        raise AudioError(
            f"Cannot decode {path}: it has no audio header (it would be read as headerless "
            f"{info.samplerate} Hz {info.subtype} noise). The file is corrupt or not audio; "
            "replace it or remove it from the folder.")
    try:
        native_rate = info.samplerate if info is not None else sf.info(str(path)).samplerate
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
    except Exception:  # not a format libsndfile reads: let librosa try its other decoders
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # librosa's "trying audioread" notices
                audio, native_rate = librosa.load(str(path), sr=None, mono=True)
        except Exception as exc:
            raise AudioError(
                f"Cannot decode {path}: {type(exc).__name__}{': ' + str(exc) if str(exc) else ''}. "
                "The file is corrupt or not audio; replace it or remove it from the folder."
            ) from None
    if audio.size == 0 or not np.all(np.isfinite(audio)):
        raise AudioError(f"{path} holds no usable samples (empty or not finite); replace or remove it.")
    if native_rate != sample_rate:
        audio = librosa.resample(audio, orig_sr=native_rate, target_sr=sample_rate)
    return np.ascontiguousarray(audio, dtype=np.float32), int(native_rate)


def fit_to_clip(audio: np.ndarray, *, sample_rate: int, clip_seconds: float,
                min_clip_seconds: float, name: str = "clip") -> np.ndarray:
    """Apply the length rule (module docstring); refuse clips under `min_clip_seconds`."""
    seconds = len(audio) / sample_rate
    if seconds < min_clip_seconds:
        raise AudioError(
            f"{name} lasts {seconds:.2f} s, under the minimum of {min_clip_seconds:g} s "
            "(one token); use a longer recording."
        )
    target = int(round(clip_seconds * sample_rate))
    if len(audio) >= target:
        start = (len(audio) - target) // 2
        return audio[start:start + target]
    return np.pad(audio, (0, target - len(audio)))


def load_clip(path: str | Path, config: Config | None = None, *, sample_rate: int | None = None,
              clip_seconds: float | None = None,
              min_clip_seconds: float | None = None) -> np.ndarray:
    """Read a file and apply the length rule: the one way every clip enters the pipeline.
    `load_clip(path, config)` gives a clip as the model hears it; a number given as a keyword
    overrides the config's (without a config all three are needed)."""
    numbers = {"sample_rate": sample_rate, "clip_seconds": clip_seconds,
               "min_clip_seconds": min_clip_seconds}
    for name, value in numbers.items():
        if value is None:
            if config is None:
                raise TypeError(f"load_clip needs a config or {name}=...")
            numbers[name] = getattr(config, name)
    audio, _ = read_audio(path, sample_rate=numbers["sample_rate"])
    return fit_to_clip(audio, **numbers, name=str(path))
