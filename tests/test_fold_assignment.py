"""Which folds cross-validation uses: random (the paper) or artist-grouped (GTZAN)."""

import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.data.folds import TRAIN_ONLY, VALIDATION, fold_assignment
from paperlib.data.genres import GENRES
from paperlib.data.gtzan_splits import read_artist_index, read_filtered_split
from paperlib.data.prepare import prepare_data
from tests.conftest import METADATA, write_tone


def test_split_values_are_checked():
    with pytest.raises(ValueError, match="split='fault-filtered'.*only for GTZAN"):
        Config(split="fault-filtered")
    assert Config(split="fault-filtered", dataset="gtzan", data_dir="x").split == "fault-filtered"
    with pytest.raises(ValueError, match="split='artist'.*synthetic"):
        Config(split="artist")
    assert Config(split="artist", dataset="gtzan", data_dir="x").split == "artist"


def test_artist_folds_keep_each_artist_in_one_fold(tmp_path, monkeypatch):
    if not METADATA.is_dir():
        pytest.skip(f"no local metadata mirror at {METADATA}")
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "gtzan" / "genres"
    for genre in ("blues", "reggae"):
        for i in range(0, 96, 8):  # spread over the genre: GTZAN lists an artist's clips together
            write_tone(root / genre / f"{genre}.{i:05d}.au", seconds=4.5, freq=200 + 5 * i)
    config = Config(dataset="gtzan", data_dir=str(root.parent), split="artist", folds=3,
                         metadata_url=METADATA.as_uri(), run_dir=str(tmp_path / "run"), workers=1)
    prepared, _ = prepare_data(config, progress=False)
    folds = fold_assignment(prepared.tracks, config)
    artists = read_artist_index(METADATA / "GTZANindex.txt").set_index("track_id")["artist"]
    by_artist = {}
    for track, fold in zip(prepared.tracks["track_id"], folds):
        by_artist.setdefault(artists[track].lower(), set()).add(int(fold))
    assert all(len(f) == 1 for f in by_artist.values()), by_artist
    assert set(np.unique(folds)) == {0, 1, 2}
    random = fold_assignment(prepared.tracks, config.replace(split="random", dataset="gtzan"))
    assert len(random) == len(folds)


def test_fault_filtered_keeps_the_listed_clips_in_their_published_roles(tmp_path, monkeypatch):
    if not METADATA.is_dir():
        pytest.skip(f"no local metadata mirror at {METADATA}")
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    lists = read_filtered_split(METADATA)
    chosen = {role: [t for t in lists.index if lists[t] == role and t.startswith("blues")][:2]
              for role in ("train", "valid", "test")}
    unlisted = next(f"{g}.{i:05d}" for g in GENRES for i in range(100)
                    if f"{g}.{i:05d}" not in lists.index)  # a faulty clip the lists leave out
    root = tmp_path / "gtzan" / "genres"
    for i, track in enumerate([*sum(chosen.values(), []), unlisted]):
        write_tone(root / track.split(".")[0] / f"{track}.au", seconds=4.5, freq=200 + 20 * i)
    config = Config(dataset="gtzan", data_dir=str(root.parent), split="fault-filtered",
                         metadata_url=METADATA.as_uri(), run_dir=str(tmp_path / "run"), workers=1)
    prepared, report = prepare_data(config, progress=False)
    assert unlisted in report.left_out and unlisted not in prepared.tracks["track_id"].tolist()
    roles = dict(zip(prepared.tracks["track_id"], fold_assignment(prepared.tracks, config)))
    assert [roles[t] for t in chosen["test"]] == [0, 0]
    assert [roles[t] for t in chosen["valid"]] == [VALIDATION] * 2
    assert [roles[t] for t in chosen["train"]] == [TRAIN_ONLY] * 2


def test_accuracies_count_held_out_clips_and_what_the_final_model_trained_on():
    from paperlib.model.cross_validation import CrossValidation

    eye = np.eye(2)
    labels = np.array([0, 1, 0, 1])
    clip_fold = np.array([0, 0, VALIDATION, TRAIN_ONLY])
    oof = {"genre": eye[[0, 0, 1, 1]], "label": labels, "fold": clip_fold}
    final = {"genre": eye[[0, 1, 1, 0]]}  # right on clips 0, 1; wrong on 2 (validation) and 3
    cv = CrossValidation(oof, None, [], final)
    assert cv.accuracy == 0.5  # the test fold only: clip 0 right, clip 1 wrong
    assert cv.final_in_sample_accuracy == pytest.approx(2 / 3)  # clips 0, 1, 3: not validation
    assert CrossValidation(oof, None, [], None).final_in_sample_accuracy is None
