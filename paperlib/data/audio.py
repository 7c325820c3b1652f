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


MAX_FRAMES = 3600 * 48_000  # one hour at 48 kHz: longer files are refused (0.7 GB as mono float32)
MAX_CHANNELS = 64
RATE_RANGE = (1_000, 768_000)  # sample rates in Hz that audio files really have
BLOCK = 2**16  # frames decoded at a time
NOT_A_BAD_FILE = (MemoryError, RecursionError)  # the machine's trouble, never blamed on the file


def _bad(path: Path, problem: str) -> AudioError:
    return AudioError(f"Cannot decode {path}: {problem}. The file is corrupt or not audio; replace it "
                      "or remove it from the folder.")


def check_header(path: Path, rate: float, channels: int, frames: float) -> None:
    """Refuse what no real recording has, before any sample is read."""
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise _bad(path, f"its header gives a sample rate of {rate:g} Hz (expected "
                         f"{RATE_RANGE[0]}-{RATE_RANGE[1]} Hz)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise _bad(path, f"its header gives {channels} channels (expected 1-{MAX_CHANNELS})")
    if frames > MAX_FRAMES:
        raise _bad(path, f"its header claims {frames / rate / 3600:.1f} hours of audio at {rate:g} Hz "
                         f"(at most {MAX_FRAMES:,} frames, an hour at 48 kHz, are read)")


def read_audio(path: str | Path, *, sample_rate: int) -> tuple[np.ndarray, int]:
    """Decode any format librosa reads to mono float32 at `sample_rate`; also return the file's own
    rate. Whatever the file holds, this returns audio or raises AudioError (a MemoryError stays
    one); a header that no real recording has is refused before any sample is read."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"Audio file {path} does not exist.")
    try:
        audio, native_rate = _decode(path)
        if audio.size == 0 or not np.all(np.isfinite(audio)):
            raise AudioError(f"{path} holds no usable samples (empty or not finite); replace or remove it.")
        if native_rate != sample_rate:
            import librosa

            audio = librosa.resample(audio, orig_sr=native_rate, target_sr=sample_rate)
    except (AudioError, *NOT_A_BAD_FILE):
        raise
    except Exception as exc:  # noqa: BLE001 - a decoder's surprise is still a bad file
        raise _bad(path, f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}") from None
    return np.ascontiguousarray(audio, dtype=np.float32), int(native_rate)


def _decode(path: Path) -> tuple[np.ndarray, int]:
    """Mono samples at the file's own rate: libsndfile when it knows the format, else librosa's
    other decoders."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except NOT_A_BAD_FILE:
        raise
    except Exception:  # noqa: BLE001 - not a format libsndfile reads
        return _decode_other(path)
    if info.format == "RAW":  # libsndfile guessed: no audio header at all
        raise AudioError(
            f"Cannot decode {path}: it has no audio header (it would be read as headerless "
            f"{info.samplerate} Hz {info.subtype} noise). The file is corrupt or not audio; "
            "replace it or remove it from the folder.")
    check_header(path, info.samplerate, info.channels, info.frames)
    try:
        return _read_blocks(path), int(info.samplerate)
    except (AudioError, *NOT_A_BAD_FILE):
        raise
    except Exception:  # noqa: BLE001 - libsndfile knew the header but not the data: try the others
        return _decode_other(path)


def _read_blocks(path: Path) -> np.ndarray:
    """libsndfile's samples, mixed to mono block by block, until the data really ends (a header
    may claim more than the file holds) and never past MAX_FRAMES."""
    import soundfile as sf

    blocks, total = [], 0
    with sf.SoundFile(str(path)) as f:
        while True:
            block = f.read(BLOCK, dtype="float32", always_2d=True)
            if len(block):
                blocks.append(block.mean(axis=1))
                total += len(block)
            if total > MAX_FRAMES:
                raise _bad(path, f"it holds more than {MAX_FRAMES:,} frames (an hour at 48 kHz)")
            if len(block) < BLOCK:
                break
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def _decode_other(path: Path) -> tuple[np.ndarray, int]:
    """librosa's other decoders (audioread: ffmpeg and the like), the duration checked first."""
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa's "trying audioread" notices
        rate = librosa.get_samplerate(str(path))
        check_header(path, rate, 1, librosa.get_duration(path=str(path)) * rate)
        audio, rate = librosa.load(str(path), sr=None, mono=True)
    check_header(path, rate, 1, len(audio))
    return audio, int(rate)


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
