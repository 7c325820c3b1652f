"""Librosa clip statistics of any audio, as Kaggle's GTZAN feature table (`features_30_sec.csv`)
holds them for the 1000 real clips: means and variances of chroma, RMS, spectral centroid,
bandwidth and rolloff, zero-crossing rate, the harmonic and percussive signals, 20 MFCCs, and the
tempo, at 22050 Hz mono. With librosa's defaults as they were when the table was made (STFT frames
padded by reflection; librosa >= 0.10 pads with zeros), they reproduce the table's own rows
(`tests/test_clip_statistics.py`). One STFT serves every spectral statistic; the median filters
of the harmonic-percussive separation, most of the time, take scipy's fast 1-d path."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

TABLE_SAMPLE_RATE = 22050  # the table's clips: GTZAN's 30 s at 22050 Hz mono
TABLE_CLIP_SECONDS = 30.0
MIN_SAMPLES = 2048  # one STFT frame (librosa's n_fft)
PAD_MODE = "reflect"  # how librosa < 0.10 padded the STFT's edge frames (the table's librosa)
HPSS_KERNEL = 31  # librosa.decompose.hpss's median-filter length
N_MFCC = 20
SIGNALS = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff",
           "zero_crossing_rate", "harmony", "perceptr")
STATISTIC_COLUMNS: tuple[str, ...] = (
    *(f"{s}_{m}" for s in SIGNALS for m in ("mean", "var")), "tempo",
    *(f"mfcc{i}_{m}" for i in range(1, N_MFCC + 1) for m in ("mean", "var")))


def median_along(magnitude: np.ndarray, *, axis: int) -> np.ndarray:
    """scipy's median filter (HPSS_KERNEL long, reflected edges) along one axis of a 2-d array,
    line by line: scipy's 1-d path (a running median) gives the numbers of the 2-d filter with a
    (1, k) footprint several times faster."""
    from scipy.ndimage import median_filter

    lines = np.moveaxis(magnitude, axis, -1)
    out = np.empty_like(lines)
    for i, line in enumerate(lines):
        out[i] = median_filter(line, size=HPSS_KERNEL, mode="reflect")
    return np.moveaxis(out, -1, axis)


def harmonic_percussive(stft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`librosa.decompose.hpss(stft)` (kernel 31, margin 1, power 2) with `median_along`: the
    harmonic part is smooth along time, the percussive part along frequency."""
    import librosa

    magnitude, phase = librosa.magphase(stft)
    harm, perc = median_along(magnitude, axis=1), median_along(magnitude, axis=0)
    mask_harm = librosa.util.softmask(harm, perc, power=2.0, split_zeros=True)
    mask_perc = librosa.util.softmask(perc, harm, power=2.0, split_zeros=True)
    return (magnitude * mask_harm) * phase, (magnitude * mask_perc) * phase


def beat_track_tempo(y: np.ndarray) -> float:
    """The tempo `librosa.beat.beat_track(y=y, sr=22050)` reports, as the table has it (its onset
    strength with median aggregation and zero-padded frames, then `librosa.feature.tempo`; 0 without
    onsets), without tracking the beats, which the table does not hold: that spares importing
    librosa.beat (seconds of numba loading)."""
    import librosa

    envelope = librosa.onset.onset_strength(y=y, sr=TABLE_SAMPLE_RATE, aggregate=np.median)
    if not envelope.any():
        return 0.0
    return float(librosa.feature.tempo(onset_envelope=envelope, sr=TABLE_SAMPLE_RATE)[0])


def check_audio(audio: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """`audio` as float32 mono at the table's rate, or ValueError saying what was given."""
    if sample_rate != TABLE_SAMPLE_RATE:
        raise ValueError(f"sample_rate={sample_rate}: the feature table's statistics are of audio at "
                         f"{TABLE_SAMPLE_RATE} Hz; resample first (paperlib.data.audio.read_audio).")
    array = np.asarray(audio)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"audio must be a 1-d array of real samples (mono), got shape {array.shape} "
                         f"of {array.dtype}.")
    if len(array) < MIN_SAMPLES:
        raise ValueError(f"audio has {len(array)} samples; clip statistics need at least {MIN_SAMPLES} "
                         f"({MIN_SAMPLES / TABLE_SAMPLE_RATE:.3f} s at {TABLE_SAMPLE_RATE} Hz).")
    if not np.all(np.isfinite(array)):
        raise ValueError("audio holds NaN or infinite samples; expected finite samples.")
    return np.ascontiguousarray(array, dtype=np.float32)


def clip_statistics(audio: np.ndarray, *, sample_rate: int) -> pd.Series:
    """The table's 57 statistics (`STATISTIC_COLUMNS`, in its order) of mono `audio` at 22050 Hz:
    the whole array, as the table did for each 30 s clip; ValueError for other input."""
    import librosa

    y = check_audio(audio, sample_rate=sample_rate)
    sr = TABLE_SAMPLE_RATE
    stft = librosa.stft(y, pad_mode=PAD_MODE)
    magnitude = np.abs(stft)
    power = magnitude**2
    harm, perc = harmonic_percussive(stft)
    with warnings.catch_warnings():  # silence or a pure tone: no pitch to tune by, tuning 0 (fine)
        warnings.filterwarnings("ignore", message="Trying to estimate tuning from empty frequency set")
        chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    signals = {
        "chroma_stft": chroma,
        "rms": librosa.feature.rms(y=y, pad_mode=PAD_MODE),
        "spectral_centroid": librosa.feature.spectral_centroid(S=magnitude, sr=sr),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=magnitude, sr=sr),
        "rolloff": librosa.feature.spectral_rolloff(S=magnitude, sr=sr),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y),
        "harmony": librosa.istft(harm, dtype=y.dtype, length=len(y)),
        "perceptr": librosa.istft(perc, dtype=y.dtype, length=len(y)),
    }
    tempo = beat_track_tempo(y)
    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)
    signals.update({f"mfcc{i + 1}": row for i, row in enumerate(mfcc)})
    values = {f"{name}_{kind}": float(np.mean(v) if kind == "mean" else np.var(v))
              for name, v in signals.items() for kind in ("mean", "var")}
    values["tempo"] = tempo
    return pd.Series(values, name="statistics").reindex(list(STATISTIC_COLUMNS))


def agreement(computed: pd.DataFrame, table: pd.DataFrame, *, tolerance: float = 0.01) -> pd.DataFrame:
    """How far statistics computed here (clips x `STATISTIC_COLUMNS`) are from the table's rows for
    the same clips (same index), one row per column: the largest relative difference, the scale
    the tolerance applies to and the largest difference on that scale, the clip where it is, and
    whether it is within `tolerance` (tempo: exactly equal). The scale of a mean is the larger of
    its value and the spread of its signal (the square root of the matching `_var` column): the
    harmonic and percussive signals are centred on zero (means of 1e-5 beside a spread of 0.1),
    where a relative difference says nothing."""
    if list(computed.columns) != list(STATISTIC_COLUMNS) or not computed.index.equals(table.index):
        raise ValueError(f"expected clips x {len(STATISTIC_COLUMNS)} statistics on both sides with one "
                         f"index, got {computed.shape} and {table.shape}.")
    rows = []
    for column in STATISTIC_COLUMNS:
        ours, theirs = computed[column].to_numpy(float), table[column].to_numpy(float)
        difference = np.abs(ours - theirs)
        relative = difference / np.maximum(np.abs(theirs), np.finfo(float).tiny)
        scale, on_scale = "value", relative
        if column.endswith("_mean"):
            spread = np.sqrt(np.clip(table[column.removesuffix("_mean") + "_var"].to_numpy(float), 0, None))
            if np.any(spread > np.abs(theirs)):
                scale = "value or spread"
                on_scale = difference / np.maximum(np.maximum(np.abs(theirs), spread), np.finfo(float).tiny)
        worst = int(np.argmax(on_scale))
        rows.append({"column": column, "largest_relative_difference": float(relative.max()),
                     "scale": scale, "largest_difference_on_scale": float(on_scale[worst]),
                     "worst_clip": str(computed.index[worst]),
                     "within": bool(difference.max() == 0 if column == "tempo" else on_scale.max() <= tolerance)})
    return pd.DataFrame(rows)
