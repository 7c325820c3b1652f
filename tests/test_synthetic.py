import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlib.data.genres import GENRES
from paperlib.data.layout import scan_tracks
from paperlib.data.synthetic import GROUND_TRUTH, render_clip, write_synthetic
from paperlib.data.synthetic_styles import CONFUSABLE_PAIRS, GENRE_RECIPES


def test_same_seed_gives_identical_audio_and_truth():
    a, info_a = render_clip("reggae", 3, seed=7)
    b, info_b = render_clip("reggae", 3, seed=7)
    assert np.array_equal(a, b) and info_a == info_b
    c, _ = render_clip("reggae", 3, seed=8)
    assert not np.array_equal(a, c)


def test_clip_shape_level_and_moment():
    audio, info = render_clip("blues", 0, seed=1)
    assert audio.shape == (661500,) and audio.dtype == np.float32
    assert 0.3 < np.abs(audio).max() <= 1.0
    assert 0.5 <= info.motif_start_s < info.motif_end_s <= 29.5
    assert 2.0 <= info.motif_end_s - info.motif_start_s <= 3.0


def test_pairs_share_a_style_and_differ_by_motif_order():
    for a, b in CONFUSABLE_PAIRS:
        (style_a, motif_a), (style_b, motif_b) = GENRE_RECIPES[a], GENRE_RECIPES[b]
        assert style_a == style_b and motif_a == tuple(reversed(motif_b))
    for genre in ("classical", "jazz"):  # each has a style of its own
        style = GENRE_RECIPES[genre][0]
        assert [g for g, (s, _) in GENRE_RECIPES.items() if s == style] == [genre]


def test_the_moment_is_louder_than_its_surroundings():
    audio, info = render_clip("metal", 2, seed=3)
    sr = 22050
    inside = audio[int(info.motif_start_s * sr):int(info.motif_end_s * sr)]
    assert np.sqrt(np.mean(inside ** 2)) > np.sqrt(np.mean(audio ** 2))


def test_unknown_genre_is_refused():
    with pytest.raises(ValueError, match="Unknown genre 'polka'"):
        render_clip("polka", 0, seed=0)


def test_written_in_gtzan_layout_and_read_back(tmp_path):
    root = write_synthetic(seed=5, clips_per_genre=1, workers=1, progress=False)
    assert (root / GROUND_TRUTH).is_file()
    genre_root, tracks = scan_tracks(root)
    assert genre_root.name == "genres_original"
    assert list(tracks["genre"]) == list(GENRES)
    assert (genre_root / "rock" / "rock.00000.wav").is_file()
    audio, rate = sf.read(genre_root / "jazz" / "jazz.00000.wav")
    assert rate == 22050 and audio.ndim == 1 and len(audio) == 661500
    truth = pd.read_csv(root / GROUND_TRUTH)
    assert set(truth["track_id"]) == set(tracks["track_id"])
    # a second call reuses the files
    mtime = (genre_root / "rock" / "rock.00000.wav").stat().st_mtime_ns
    assert write_synthetic(seed=5, clips_per_genre=1, workers=1, progress=False) == root
    assert (genre_root / "rock" / "rock.00000.wav").stat().st_mtime_ns == mtime


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.integers(0, 50), st.integers(1, 6), st.floats(5.0, 30.0))
def test_decoys_land_apart_from_the_moment_and_each_other(seed, index, count, clip_length_s):
    from paperlib.data.synthetic import _plant_decoys

    sr = 2000
    mix = np.zeros(int(clip_length_s * sr), np.float32)  # a clip's length, not a time limit
    motif = (int(0.5 * sr), int(3.0 * sr))
    spans = _plant_decoys(mix, "blues", index, seed=seed, count=count, motif=motif, start_hz=440.0,
                          timbre="pluck", level_db=4.0, sr=sr)
    assert len(spans) <= count
    if clip_length_s >= 7:  # 3.5 s or more free after the moment: room for a decoy of at most 3 s
        assert spans
    ordered = sorted([motif, *spans])
    assert all(end <= next_start for (_, end), (next_start, _) in zip(ordered, ordered[1:]))
    assert all(0.5 * sr <= a and b <= len(mix) - 0.5 * sr for a, b in spans)
    outside = np.ones(len(mix), bool)
    for a, b in spans:
        outside[a:b] = False
    assert not mix[outside].any()  # nothing but the decoys was touched


@pytest.mark.parametrize("genre", ["classical", "jazz"])
def test_a_genre_without_a_pair_gets_no_decoys(genre):
    plain, info = render_clip(genre, 3, seed=7, seconds=8.0)
    decoyed, decoyed_info = render_clip(genre, 3, seed=7, seconds=8.0, decoys=3)
    assert np.array_equal(plain, decoyed) and info == decoyed_info


def test_decoys_leave_the_clip_s_own_draws_and_change_its_sound():
    plain, info = render_clip("rock", 2, seed=7, seconds=12.0)
    decoyed, decoyed_info = render_clip("rock", 2, seed=7, seconds=12.0, decoys=2)
    assert info == decoyed_info  # tempo, key, the moment and its level: the same stream
    assert not np.array_equal(plain, decoyed)


@settings(max_examples=10, deadline=None)
@given(st.floats(-4.0, 12.0))
def test_the_moment_s_level_follows_motif_db(motif_db):
    from paperlib.data.synthetic import MOTIF_SPREAD_DB

    _, info = render_clip("disco", 1, seed=3, seconds=6.0, motif_db=motif_db)
    assert abs(info.motif_level_db - motif_db) <= MOTIF_SPREAD_DB + 1e-3
