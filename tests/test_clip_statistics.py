"""Clip statistics from audio (`paperlib.data.clip_statistics`): the ten real GTZAN samples against
their rows of Kaggle's feature table (skipped without the shared folders), librosa's own HPSS, and
arbitrary or bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from paperlib.core import paths
from paperlib.data.audio import read_audio
from paperlib.data.clip_statistics import (
    MIN_SAMPLES,
    STATISTIC_COLUMNS,
    TABLE_SAMPLE_RATE,
    agreement,
    clip_statistics,
    harmonic_percussive,
)
from paperlib.data.download import FEATURES_FILE
from paperlib.data.feature_table import read_feature_table
from paperlib.data.genres import GENRES
from tests.conftest import FEATURES

SAMPLES = paths.project_root().parent / "shared" / "data" / "gtzan-samples"
BOUNDED = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
needs_samples = pytest.mark.skipif(not (SAMPLES.is_dir() and (FEATURES / FEATURES_FILE).is_file()),
                                   reason="no GTZAN samples or feature table beside the project (../shared)")


@pytest.fixture(scope="module")
def sample_agreement() -> pd.DataFrame:
    """The ten samples' statistics computed here against their rows of the table."""
    table = pd.read_csv(FEATURES / FEATURES_FILE).set_index("filename")
    names = [f"{genre}.00000.wav" for genre in GENRES]
    computed = pd.DataFrame([clip_statistics(read_audio(SAMPLES / n, sample_rate=TABLE_SAMPLE_RATE)[0],
                                             sample_rate=TABLE_SAMPLE_RATE) for n in names], index=names)
    return agreement(computed, table.loc[names, list(STATISTIC_COLUMNS)])


@needs_samples
@pytest.mark.slow
def test_the_ten_samples_reproduce_their_rows_of_the_table(sample_agreement):
    report = sample_agreement.set_index("column")
    print("\n" + report.to_string(float_format=lambda v: f"{v:.2e}"))
    assert report.loc["tempo", "largest_relative_difference"] == 0, "tempo differs from the table"
    off = report[~report["within"]]
    assert off.empty, ("statistics more than 1% from the table (the scale of a mean is its value or "
                       "its signal's spread):\n" + off.to_string())


@needs_samples
@pytest.mark.slow
def test_only_the_zero_centred_means_need_the_spread_as_their_scale(sample_agreement):
    """Every other statistic is within 1% of its own value; the harmonic and percussive means
    (1e-5 beside a spread of 0.1) are named here so that a new such column is noticed."""
    report = sample_agreement.set_index("column")
    beyond_value = report.index[report["largest_relative_difference"] > 0.01].tolist()
    assert set(beyond_value) <= {"harmony_mean", "perceptr_mean"}, beyond_value


@pytest.mark.skipif(not (FEATURES / FEATURES_FILE).is_file(), reason="no feature table mirror")
def test_the_columns_are_the_tables():
    assert read_feature_table(FEATURES / FEATURES_FILE).columns == list(STATISTIC_COLUMNS)


def test_the_harmonic_percussive_split_is_librosas():
    import librosa

    rng = np.random.default_rng(3)
    stft = librosa.stft(rng.standard_normal(20_000).astype(np.float32))
    ours, theirs = harmonic_percussive(stft), librosa.decompose.hpss(stft)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])


def test_a_tone_has_the_statistics_of_a_tone():
    t = np.arange(3 * TABLE_SAMPLE_RATE) / TABLE_SAMPLE_RATE
    stats = clip_statistics(0.5 * np.sin(2 * np.pi * 440 * t), sample_rate=TABLE_SAMPLE_RATE)
    assert list(stats.index) == list(STATISTIC_COLUMNS)
    assert stats["spectral_centroid_mean"] == pytest.approx(440, rel=0.05)
    assert stats["zero_crossing_rate_mean"] == pytest.approx(2 * 440 / TABLE_SAMPLE_RATE, rel=0.05)
    assert stats["rms_mean"] == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert stats["harmony_var"] > 10 * stats["perceptr_var"]  # a steady tone is harmonic


@BOUNDED
@given(arrays(np.float64, st.integers(MIN_SAMPLES, 6000),
              elements=st.floats(-1, 1, allow_nan=False, allow_subnormal=False)),
       st.sampled_from([1e-6, 1.0, 1e3]))
def test_any_finite_audio_gives_57_finite_statistics(audio, scale):
    stats = clip_statistics(audio * scale, sample_rate=TABLE_SAMPLE_RATE)
    assert list(stats.index) == list(STATISTIC_COLUMNS) and np.isfinite(stats).all()
    assert (stats[[c for c in STATISTIC_COLUMNS if c.endswith("_var")]] >= 0).all()
    assert stats["tempo"] >= 0


@pytest.mark.parametrize("audio,rate,expected", [
    (np.zeros(5000), 44100, "sample_rate=44100"),
    (np.zeros((2, 5000)), TABLE_SAMPLE_RATE, r"shape \(2, 5000\)"),
    (np.zeros(100), TABLE_SAMPLE_RATE, "has 100 samples"),
    (np.r_[np.zeros(4000), np.nan], TABLE_SAMPLE_RATE, "NaN or infinite"),
    (np.zeros(5000, complex), TABLE_SAMPLE_RATE, "real samples"),
    (np.array(["a"] * 5000), TABLE_SAMPLE_RATE, "real samples"),
])
def test_bad_input_is_named(audio, rate, expected):
    with pytest.raises(ValueError, match=expected):
        clip_statistics(audio, sample_rate=rate)


def test_agreement_refuses_mismatched_tables():
    good = pd.DataFrame([np.ones(len(STATISTIC_COLUMNS))], columns=list(STATISTIC_COLUMNS), index=["a"])
    with pytest.raises(ValueError, match="statistics on both sides"):
        agreement(good, good.rename(index={"a": "b"}))
    report = agreement(good, good * 1.02).set_index("column")
    assert not report["within"].any() and report.loc["tempo", "largest_relative_difference"] > 0


@pytest.mark.slow  # over 10 s on a slow 2-core machine
@BOUNDED
@given(st.integers(0, 2**32 - 1), st.integers(MIN_SAMPLES, 3 * TABLE_SAMPLE_RATE), st.sampled_from(["noise", "clicks", "silence"]))
def test_the_tempo_is_the_beat_trackers(seed, n, kind):
    import librosa

    from paperlib.data.clip_statistics import beat_track_tempo

    rng = np.random.default_rng(seed)
    if kind == "noise":
        y = rng.standard_normal(n)
    elif kind == "clicks":
        y = np.zeros(n)
        y[rng.integers(0, n, size=max(1, n // 4000))] = 1.0
    else:
        y = np.zeros(n)
    y = y.astype(np.float32)
    expected = float(np.ravel(librosa.beat.beat_track(y=y, sr=TABLE_SAMPLE_RATE)[0])[0])
    assert beat_track_tempo(y) == expected
