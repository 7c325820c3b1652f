"""Honest GTZAN splits: the real public metadata (skipped without it) and hand-made files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.data.genres import GENRES
from paperlib.data.gtzan_splits import (
    UNUSED,
    artist_folds,
    filtered_assignment,
    missing_from_dataset,
    read_artist_index,
    read_filtered_split,
)
from tests.conftest import METADATA

GTZAN_IDS = [f"{genre}.{number:05d}" for genre in GENRES for number in range(100)]
GTZAN_LABELS = np.repeat(np.arange(len(GENRES)), 100)


@pytest.fixture(scope="module")
def metadata():
    if not (METADATA / "GTZANindex.txt").is_file():
        pytest.skip(f"GTZAN metadata mirror not found at {METADATA}")
    return METADATA


@pytest.fixture(scope="module")
def real_index(metadata):
    return read_artist_index(metadata / "GTZANindex.txt")


# ---- the real fault-filtered split -------------------------------------------------------------

def test_real_filtered_split_sizes_and_jazz_54(metadata):
    split = read_filtered_split(metadata)
    assert split.value_counts().to_dict() == {"train": 443, "valid": 197, "test": 290}
    assert split.index.is_unique  # disjoint lists
    assert split["jazz.00054"] == "train"
    assert set(split.index) <= set(GTZAN_IDS)


def test_real_filtered_assignment_leaves_70_unused(metadata):
    split = read_filtered_split(metadata)
    assignment = filtered_assignment(GTZAN_IDS, split)
    assert assignment.shape == (1000,)
    assert (assignment == UNUSED).sum() == 70
    assert (assignment == "test").sum() == 290
    # the order follows the given track table, not the lists
    reversed_assignment = filtered_assignment(GTZAN_IDS[::-1], split)
    assert list(reversed_assignment) == list(assignment[::-1])


def test_real_missing_tracks_name_jazz_54(metadata):
    split = read_filtered_split(metadata)
    assert missing_from_dataset(GTZAN_IDS, split) == []
    without = [t for t in GTZAN_IDS if t != "jazz.00054"]
    assert missing_from_dataset(without, split) == ["jazz.00054"]
    assert (filtered_assignment(without, split) == "train").sum() == 442


def test_real_artist_index(real_index):
    assert len(real_index) == 1000
    assert list(real_index.columns) == ["track_id", "artist", "title"]
    assert set(real_index.track_id) == set(GTZAN_IDS)
    artists = dict(zip(real_index.track_id, real_index.artist))
    assert artists["blues.00000"] == "John Lee Hooker"
    assert artists["classical.00059"] == "unknown:classical.00059"  # "::: :::" entry
    unknown = real_index.artist.str.startswith("unknown:")
    assert unknown.sum() > 10
    assert real_index.artist[unknown].is_unique  # each artist-less clip is its own group
    assert (real_index.artist == real_index.artist.str.strip()).all()


def test_real_fault_filtered_lists_share_no_artist(metadata, real_index):
    split = read_filtered_split(metadata)
    artists = dict(zip(real_index.track_id, real_index.artist.str.casefold()))
    per_artist = pd.Series({t: artists[t] for t in split.index}).groupby(lambda t: artists[t])
    lists = {artist: set(split[list(group.index)]) for artist, group in per_artist}
    assert all(len(names) == 1 for names in lists.values())


# ---- artist folds on the real GTZAN ------------------------------------------------------------

def test_real_artist_folds_keep_artists_together_and_stratify(real_index):
    folds = artist_folds(GTZAN_IDS, GTZAN_LABELS, real_index, folds=6, seed=0)
    assert folds.shape == (1000,)
    assert set(folds) == set(range(6))
    artists = dict(zip(real_index.track_id, real_index.artist.str.casefold()))
    folds_of_artist = pd.Series(folds).groupby([artists[t] for t in GTZAN_IDS]).nunique()
    assert folds_of_artist.max() == 1, folds_of_artist[folds_of_artist > 1]
    counts = pd.crosstab(GTZAN_LABELS, folds).to_numpy()
    assert counts.shape == (10, 6)  # every fold holds every genre
    # 100 clips per genre -> ~17 per fold; an artist is never split (Bob Marley: 35 reggae clips)
    assert counts.min() >= 8 and counts.max() <= 40
    assert np.all(np.abs(counts - 100 / 6) <= 19)
    sizes = np.bincount(folds)
    assert sizes.min() >= 140 and sizes.max() <= 195


def test_real_artist_folds_are_deterministic_from_the_seed(real_index):
    a = artist_folds(GTZAN_IDS, GTZAN_LABELS, real_index, folds=6, seed=3)
    b = artist_folds(GTZAN_IDS, GTZAN_LABELS, real_index, folds=6, seed=3)
    c = artist_folds(GTZAN_IDS, GTZAN_LABELS, real_index, folds=6, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# ---- hand-made files ---------------------------------------------------------------------------

def write_lists(folder, train, valid, test):
    for name, entries in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"{name}_filtered.txt").write_text("".join(f"{e}\n" for e in entries))


def test_tiny_index_with_comments_and_missing_fields(tmp_path):
    path = tmp_path / "index.txt"
    path.write_text(
        "## a comment ::: with separators\n"
        "##\n"
        "\n"
        "blues.00000.wav :::  John Lee Hooker  ::: One Bourbon \n"
        "blues.00001.wav ::: John Lee Hooker :::\n"
        "blues.00002.wav ::: ::: Some Title\n"
        "blues.00003.wav ::: :::\n"
    )
    index = read_artist_index(path)
    assert list(index.track_id) == ["blues.00000", "blues.00001", "blues.00002", "blues.00003"]
    assert list(index.artist) == ["John Lee Hooker", "John Lee Hooker",
                                  "unknown:blues.00002", "unknown:blues.00003"]
    assert list(index.title) == ["One Bourbon", "", "Some Title", ""]


def test_index_rejects_malformed_and_duplicated_lines(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("blues.00000.wav John Lee Hooker\n")
    with pytest.raises(ValueError, match=r"bad.txt:1"):
        read_artist_index(bad)
    twice = tmp_path / "twice.txt"
    twice.write_text("blues.00000.wav ::: A ::: x\nblues.00000.wav ::: B ::: y\n")
    with pytest.raises(ValueError, match="blues.00000"):
        read_artist_index(twice)


def test_tiny_split_lists(tmp_path):
    write_lists(tmp_path, ["blues/blues.00001.wav", "rock/rock.00002.wav"],
                ["jazz/jazz.00054.wav"], ["pop/pop.00000.wav"])
    split = read_filtered_split(tmp_path)
    assert split.to_dict() == {"blues.00001": "train", "rock.00002": "train",
                               "jazz.00054": "valid", "pop.00000": "test"}
    ids = ["pop.00000", "blues.00000", "blues.00001", "rock.00002"]
    assert list(filtered_assignment(ids, split)) == ["test", UNUSED, "train", "train"]
    assert missing_from_dataset(ids, split) == ["jazz.00054"]


def test_a_track_in_two_lists_is_refused(tmp_path):
    write_lists(tmp_path, ["blues/blues.00001.wav", "rock/rock.00002.wav"],
                ["rock/rock.00002.wav"], ["pop/pop.00000.wav"])
    with pytest.raises(ValueError, match=r"rock\.00002.*train.*valid"):
        read_filtered_split(tmp_path)


def test_a_missing_split_list_is_named(tmp_path):
    (tmp_path / "train_filtered.txt").write_text("blues/blues.00001.wav\n")
    with pytest.raises(FileNotFoundError, match="valid_filtered.txt"):
        read_filtered_split(tmp_path)


def test_tiny_artist_folds_group_artists_ignoring_case():
    ids = [f"t{i}" for i in range(12)]
    labels = np.array([0, 1] * 6)
    artists = {t: f"artist {i // 2}" for i, t in enumerate(ids)}  # 6 artists, one clip per label
    artists["t1"] = "ARTIST  0"  # same artist as t0, spelled differently
    folds = artist_folds(ids, labels, artists, folds=3, seed=0)
    for i in range(0, 12, 2):
        assert folds[i] == folds[i + 1]
    assert set(folds) == {0, 1, 2}
    series = artist_folds(ids, labels, pd.Series(artists), folds=3, seed=0)
    assert np.array_equal(folds, series)


def test_artist_folds_refuse_tracks_without_artist_and_too_few_artists():
    ids = ["a", "b", "c", "d"]
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"1 of 4 tracks have no artist.*'d'"):
        artist_folds(ids, labels, {"a": "x", "b": "y", "c": "z"}, folds=2, seed=0)
    with pytest.raises(ValueError, match="at least 3 distinct artists; the tracks have 2"):
        artist_folds(ids, labels, {"a": "x", "b": "x", "c": "y", "d": "y"}, folds=3, seed=0)
    with pytest.raises(ValueError, match="labels has shape"):
        artist_folds(ids, labels[:3], {t: t for t in ids}, folds=2, seed=0)
    with pytest.raises(ValueError, match="track_id and artist"):
        artist_folds(ids, labels, pd.DataFrame({"id": ids}), folds=2, seed=0)
