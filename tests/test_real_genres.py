"""Real genres without GTZAN's audio (`paperlib.analysis.real_genres`, `paperlib similar`): the
model and its leave-one-artist-out reliability on a small made-up table; the command with both
answers on the real feature table (skipped without the shared mirrors)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from paperlib.analysis import real_genres
from paperlib.analysis.real_genres import (
    RealGenreModel,
    artist_out_probabilities,
    artist_out_table,
    check_statistics,
    reliability,
    top_k_accuracy,
)
from paperlib.analysis.similar import SYNTHETIC_NOTICE
from paperlib.cli import main
from paperlib.core import paths
from paperlib.data.clip_statistics import STATISTIC_COLUMNS
from paperlib.data.feature_table import FeatureTable
from paperlib.data.genres import GENRES
from tests.conftest import FEATURES, METADATA, write_tone
from tests.test_similar import build_run

COLUMNS = list(STATISTIC_COLUMNS)
needs_mirrors = pytest.mark.skipif(not (FEATURES.is_dir() and METADATA.is_dir()),
                                   reason="no feature table or metadata mirror beside the project (../shared)")


def made_up_table(*, per_genre: int = 6, artists_per_genre: int = 3, seed: int = 0,
                  separation: float = 3.0) -> tuple[FeatureTable, pd.DataFrame]:
    """Genres apart by `separation` standard deviations along their own statistics; each genre's
    clips shared by `artists_per_genre` artists (the last clip has no known artist)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(GENRES)), per_genre)
    centres = rng.standard_normal((len(GENRES), len(COLUMNS))) * separation
    statistics = centres[labels] + rng.standard_normal((len(labels), len(COLUMNS)))
    ids = [f"{GENRES[g]}.{i % per_genre:05d}" for i, g in enumerate(labels)]
    tracks = pd.DataFrame({"track_id": ids, "genre": [GENRES[g] for g in labels], "label": labels})
    artists = [f"{GENRES[g]} artist {(i % per_genre) % artists_per_genre}" for i, g in enumerate(labels)]
    artists[-1] = f"unknown:{ids[-1]}"
    return (FeatureTable(tracks, statistics, COLUMNS),
            pd.DataFrame({"track_id": ids, "artist": artists, "title": ""}))


def frame(rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.atleast_2d(rows), columns=COLUMNS)


def test_a_tables_own_rows_find_their_genre_and_themselves():
    table, artists = made_up_table()
    model = RealGenreModel(table, artists=artists, k=3)
    for row in (0, 17, 59):
        answer = model.answer(frame(table.statistics[row]))
        assert answer.predicted_genre == table.tracks["genre"][row]
        assert sum(answer.probabilities.values()) == pytest.approx(1)
        assert list(answer.probabilities) == sorted(answer.probabilities, key=answer.probabilities.get, reverse=True)
        first = answer.nearest.iloc[0]
        assert first["track_id"] == table.tracks["track_id"][row] and first["distance"] == pytest.approx(0, abs=1e-5)  # float32 rounding
    assert answer.nearest["artist"].iloc[0] == ""  # row 59: the index names no artist
    assert model.answer(frame(table.statistics[0])).nearest["artist"].iloc[0] == "blues artist 0"


def test_windows_vote_and_their_probabilities_are_averaged():
    table, artists = made_up_table()
    model = RealGenreModel(table, artists=artists)
    rows = table.statistics[[0, 1, 7]]  # two blues windows, one classical
    answer = model.answer(frame(rows))
    assert answer.votes == {"blues": 2, "classical": 1}
    expected = model.probabilities(frame(rows)).mean(axis=0)
    assert [answer.probabilities[g] for g in GENRES] == pytest.approx(expected.tolist())
    assert answer.to_dict()["predicted_genre"] == answer.predicted_genre


@pytest.mark.filterwarnings("ignore:Number of classes in training fold")
def test_a_clip_is_never_predicted_from_its_own_artist():
    """A genre whose clips all come from one artist cannot be named when that artist is left out."""
    table, artists = made_up_table(artists_per_genre=1)
    probabilities = artist_out_probabilities(table.statistics, table.labels,
                                             artists.set_index("track_id").loc[table.tracks["track_id"], "artist"].to_numpy())
    only_artist = table.labels != len(GENRES) - 1  # the last genre's last clip is an 'unknown' artist
    assert np.all(probabilities[only_artist, table.labels[only_artist]] == 0)
    assert top_k_accuracy(table.labels, probabilities, k=1) < 0.2


def test_reliability_is_top1_and_top3_of_the_artist_out_probabilities(tmp_path):
    table, artists = made_up_table(separation=0.6)
    found = reliability(table, artists, cache_folder=tmp_path)
    probabilities = artist_out_table(table, artists, cache_folder=tmp_path)
    top = np.argsort(-probabilities, axis=1)
    assert found.top1 == pytest.approx(np.mean(top[:, 0] == table.labels))
    assert found.top3 == pytest.approx(np.mean((top[:, :3] == table.labels[:, None]).any(axis=1)))
    assert 0 < found.top1 < found.top3 <= 1 and found.clips == 60 and found.artists == 31
    assert f"{found.top1:.1%}" in found.describe() and found.to_dict()["top3"] == round(found.top3, 4)


def test_the_artist_out_probabilities_are_cached(tmp_path, monkeypatch):
    table, artists = made_up_table()
    first = artist_out_table(table, artists, cache_folder=tmp_path)
    [stored] = tmp_path.glob("leave-one-artist-out-*.npy")
    monkeypatch.setattr(real_genres, "artist_out_probabilities", lambda *a: pytest.fail("not cached"))
    assert np.array_equal(artist_out_table(table, artists, cache_folder=tmp_path), first)
    stored.write_bytes(b"garbage")  # unreadable: computed again and rewritten
    monkeypatch.undo()
    assert np.array_equal(artist_out_table(table, artists, cache_folder=tmp_path), first)
    assert np.array_equal(np.load(stored), first)


def test_the_cache_key_is_the_same_in_another_process():
    code = ("from tests.test_real_genres import made_up_table; from paperlib.analysis.real_genres import "
            "_cache_key; from paperlib.data.gtzan_splits import artist_groups; t, a = made_up_table(); "
            "print(_cache_key(t, artist_groups(t.tracks.track_id.tolist(), a)))")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=paths.project_root()).stdout.strip() for _ in range(2)}
    table, artists = made_up_table()
    from paperlib.data.gtzan_splits import artist_groups

    assert keys == {real_genres._cache_key(table, artist_groups(table.tracks.track_id.tolist(), artists))}


def test_without_artists_there_is_no_reliability():
    table, _ = made_up_table()
    model = RealGenreModel(table)
    assert model.reliability is None
    assert (model.answer(frame(table.statistics[3])).nearest["artist"] == "").all()


@pytest.mark.parametrize("given,expected", [
    (pd.DataFrame({"a": [1.0]}), "57 clip statistics"),
    (frame(np.full(len(COLUMNS), np.nan)), "finite statistics"),
    (np.zeros((1, len(COLUMNS))), "ndarray"),
])
def test_bad_statistics_are_named(given, expected):
    with pytest.raises(ValueError, match=expected):
        check_statistics(given)


def test_a_table_of_other_statistics_or_a_bad_k_is_refused():
    table, _ = made_up_table()
    other = FeatureTable(table.tracks, table.statistics, [f"x{i}" for i in range(len(COLUMNS))])
    with pytest.raises(ValueError, match="not the 57 statistics"):
        RealGenreModel(other)
    with pytest.raises(ValueError, match="k=0 is invalid"):
        RealGenreModel(table, k=0)
    with pytest.raises(ValueError, match="at least two artists"):
        artist_out_probabilities(table.statistics, table.labels, np.zeros(len(table.labels)))


# The command, with a made-up model (fast) and with the real feature table (slow).

@pytest.fixture
def made_up_model(monkeypatch):
    """`paperlib similar` answers real genres from the made-up table."""
    table, artists = made_up_table()
    model = RealGenreModel(table, artists=artists)
    monkeypatch.setattr("paperlib.cli.real_genre_model", lambda **kw: (model, ""))
    return model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("real-genres") / "run")


@pytest.mark.slow  # over 10 s on a slow 2-core machine
def test_the_command_prints_both_answers_and_the_reliability(run_dir, tmp_path, made_up_model, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    assert main(["similar", str(path), "--run", str(run_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == SYNTHETIC_NOTICE
    real = lines.index(next(x for x in lines if x.startswith("real genres, not from this run's model")))
    assert any(x.startswith("predicted genre:") for x in lines[:real])  # the run's answer first
    assert lines[real + 1] == f"reliability: {made_up_model.reliability.describe()}"
    assert lines[real + 2].startswith("predicted genre: ")
    assert "artist" in lines[real + 5] and len(lines) == real + 11  # header and 5 real clips


def test_without_the_feature_table_the_run_still_answers(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    empty = (tmp_path / "empty").as_uri()
    assert main(["similar", str(path), "--run", str(run_dir), "--features-url", empty]) == 0
    out = capsys.readouterr().out
    assert "Real genres not answered" in out and "paperlib fetch features --dest DIR" in out
    assert "--features-url" in out and "predicted genre:" in out and "real genres, not" not in out
    assert main(["similar", str(path), "--run", str(run_dir), "--features-url", empty, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert "paperlib fetch features" in found["real_genres"]["problem"]
    assert found["real_genres"]["reliability"] is None and found["results"][0]["real_genres"] is None


def test_a_malformed_features_url_is_an_error(run_dir, tmp_path, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    assert main(["similar", str(path), "--run", str(run_dir), "--features-url", "ftp://x"]) == 2
    assert "base_url must start with" in capsys.readouterr().err


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """A project cache of this module: the table's leave-one-artist-out accuracy computed once."""
    return tmp_path_factory.mktemp("real-cache")


@needs_mirrors
@pytest.mark.slow
@pytest.mark.parametrize("fmt,subtype,suffix", [("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_whole_json_on_a_long_stereo_track_has_both_answers(run_dir, real_cache, tmp_path, monkeypatch,
                                                          capsys, fmt, subtype, suffix):
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(real_cache))
    rate = 22050  # libsndfile's Vorbis encoder crashes on one long write at 44.1 kHz
    t = np.arange(75 * rate) / rate
    noise = np.random.default_rng(0).standard_normal(len(t))
    left = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0) + 0.05 * noise
    path = tmp_path / f"song.{suffix}"
    sf.write(path, np.stack([left, np.roll(left, 100)], axis=1), rate, format=fmt, subtype=subtype)
    assert main(["similar", str(path), "--run", str(run_dir), "--whole", "--json",
                 "--features-url", FEATURES.as_uri(), "--metadata-url", METADATA.as_uri()]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["notice"] == SYNTHETIC_NOTICE and found["real_genres"]["problem"] is None
    loao = found["real_genres"]["reliability"]
    assert loao["clips"] == 1000 and 0.4 < loao["top1"] < loao["top3"] < 1  # notebook 10: 0.56 on artist folds
    [result] = found["results"]
    real = result["real_genres"]
    assert [round(a) for a, _ in real["windows"]] == [0, 30, 60] and sum(real["votes"].values()) == 3
    assert sorted(real["probabilities"]) == sorted(GENRES)
    assert sum(real["probabilities"].values()) == pytest.approx(1, abs=1e-6)
    assert real["predicted_genre"] == max(real["probabilities"], key=real["probabilities"].get)
    assert [n["rank"] for n in real["nearest"]] == [1, 2, 3, 4, 5]
    assert all(n["track_id"].split(".")[0] == n["genre"] for n in real["nearest"])
    assert sum(result["votes"].values()) == 3  # the run's answer beside it


@needs_mirrors
@pytest.mark.slow
def test_a_gtzan_clip_finds_itself_among_the_real_clips(real_cache, tmp_path, monkeypatch, capsys):
    """A GTZAN-length clip made of the table's own statistics is not at hand without GTZAN audio;
    the ten samples are (when beside the project): each finds its own row first."""
    from tests.test_clip_statistics import SAMPLES

    if not SAMPLES.is_dir():
        pytest.skip("no GTZAN samples beside the project")
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(real_cache))
    run = build_run(tmp_path / "gtzan-run", dataset="gtzan", data_dir=str(tmp_path))
    assert main(["similar", str(SAMPLES / "metal.00000.wav"), str(SAMPLES / "jazz.00000.wav"), "--run", str(run),
                 "--json", "--features-url", FEATURES.as_uri(), "--metadata-url", METADATA.as_uri()]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["notice"] is None  # a real-GTZAN run: both answers side by side, no notice
    for result in found["results"]:
        first = result["real_genres"]["nearest"][0]
        assert first["track_id"] == result["file"].rsplit("/", 1)[-1].removesuffix(".wav")
        assert first["artist"] and first["distance"] < 0.1


# Notebook 10: the real-genre model's reliability and clips placed from audio.

def gtzan_run_of(folder, tmp_path, track_ids: list[str], genres: list[str]):
    """A GTZAN run folder of the smoke profile whose track table lists audio files in `folder`
    (nothing trained)."""
    from paperlib.core.config import load_profile
    from paperlib.core.run_folder import open_run

    run = open_run(load_profile("smoke", dataset="gtzan", data_dir=str(folder), run_dir=str(tmp_path / "run")))
    run.bind_dataset("f" * 64, folder)
    run.save_table("tracks", pd.DataFrame({"track_id": track_ids, "genre": genres,
                                           "label": [GENRES.index(g) for g in genres],
                                           "path": [f"{t}.wav" for t in track_ids]}))
    return run


def test_placed_clips_are_predicted_without_their_artist(tmp_path, monkeypatch):
    from paperlib.data.feature_table import RealGtzanData

    table, artists = made_up_table()
    ids = ["blues.00000", "blues.00001", "metal.00005", "rock.99999"]  # the last: in no table or index
    for i, track_id in enumerate(ids):
        write_tone(tmp_path / "audio" / f"{track_id}.wav", seconds=3, freq=200 + 100 * i)
    (tmp_path / "audio" / "blues.00001.wav").write_text("not audio")
    run = gtzan_run_of(tmp_path / "audio", tmp_path, ids, [t.split(".")[0] for t in ids])
    trained_on = []
    real_fit = real_genres.fitted
    monkeypatch.setattr(real_genres, "fitted", lambda s, y: trained_on.append(len(s)) or real_fit(s, y))
    placed, why = real_genres.placed_check(RealGtzanData(table, artists, None), run)
    assert why == "" and list(placed.skipped) == ["blues.00001"] and "Cannot decode" in placed.skipped["blues.00001"]
    tracks = placed.tracks.set_index("track_id")
    assert list(tracks.index) == ["blues.00000", "metal.00005", "rock.99999"]
    assert tracks["in_table"].tolist() == [True, True, False]
    assert tracks.loc["blues.00000", "artist"] == "blues artist 0" and tracks.loc["rock.99999", "artist"] == ""
    # one fit per artist left out (blues artist 0, metal artist 2: 2 clips each of 60); rock.99999
    # has no artist and no row of its own: all 60 rows
    assert sorted(trained_on) == [58, 58, 60]
    for row, probabilities in zip(placed.tracks.itertuples(), placed.probabilities):
        order = [GENRES[j] for j in np.argsort(-probabilities, kind="stable")]
        assert row.predicted == order[0] and row.top3 == order[:3] and order[row.true_rank - 1] == row.genre
    assert placed.top1 == np.mean(placed.tracks["true_rank"] == 1)
    assert set(placed.agreement["worst_clip"]) <= {"blues.00000", "metal.00005"}


def test_a_synthetic_run_places_nothing_and_says_why(tmp_path):
    from paperlib.core.config import Config
    from paperlib.core.run_folder import open_run
    from paperlib.data.feature_table import RealGtzanData

    table, artists = made_up_table()
    run = open_run(Config(run_dir=str(tmp_path / "run")))
    placed, why = real_genres.placed_check(RealGtzanData(table, artists, None), run)
    assert placed is None and "synthetic" in why
    assert real_genres.placed_check(RealGtzanData(None, None, None, {"feature table": "gone"}), run)[0] is None
    reliability_, why = real_genres.artist_out_check(RealGtzanData(table, None, None, {"metadata": "gone"}))
    assert reliability_ is None and "no artist index" in why and "gone" in why


def test_the_result_records_the_reliability_and_the_placed_clips(tmp_path):
    from paperlib.claims.real_gtzan import closing_note, real_genre_note, real_gtzan_result
    from paperlib.core.config import Config
    from paperlib.core.results import RealGtzanResult
    from paperlib.data.feature_table import RealGtzanData

    table, artists = made_up_table(separation=0.6)
    write_tone(tmp_path / "audio" / "jazz.00001.wav", seconds=3)
    run = gtzan_run_of(tmp_path / "audio", tmp_path, ["jazz.00001"], ["jazz"])
    data = RealGtzanData(table, artists, None)
    found, _ = real_genres.artist_out_check(data)
    placed, _ = real_genres.placed_check(data, run)
    problems = {"feature table": "not needed here"}
    result = real_gtzan_result(config=Config(), problems=problems, comparison_reason="synthetic",
                               artist_out=found, placed=placed)
    assert (result.artist_out_top1, result.artist_out_top3, result.artist_out_artists) == (found.top1, found.top3, 31)
    assert [c.track_id for c in result.placed_clips] == ["jazz.00001"] and result.placed_top1 == placed.top1
    assert result.placed_agreement == placed.agreement["largest_difference_on_scale"].max()
    assert RealGtzanResult.model_validate(json.loads(result.model_dump_json())) == result
    note = real_genre_note(result)
    assert f"{found.top1:.1%}" in note and f"{found.top3:.1%}" in note and "1 clips read" in note
    empty = real_gtzan_result(config=Config(), problems=problems, comparison_reason="synthetic")
    assert empty.artist_out_top1 is None and "not needed here" in empty.missing["artist_out_top1"]
    assert real_genre_note(empty) == "" and "Nothing was measured" in closing_note(empty)


def test_a_result_recorded_before_the_real_genre_numbers_still_reads():
    from paperlib.claims.real_gtzan import real_gtzan_result
    from paperlib.core.config import Config
    from paperlib.core.results import ADDED_IN_ISSUE_22, RealGtzanResult

    stored = json.loads(real_gtzan_result(config=Config(), problems={"t": "x"}).model_dump_json())
    for name in ADDED_IN_ISSUE_22:
        del stored[name], stored["missing"][name]
    old = RealGtzanResult.model_validate(stored)
    assert old.artist_out_top1 is None and "older version" in old.missing["placed_clips"]


@needs_mirrors
@pytest.mark.slow
def test_the_ten_samples_are_placed_by_models_without_their_artists(tmp_path, real_cache, monkeypatch):
    """The shared GTZAN samples as a GTZAN run's audio: statistics as the table's rows, each clip
    predicted without its artist."""
    from paperlib.data.feature_table import real_gtzan_data
    from tests.test_clip_statistics import SAMPLES

    if not SAMPLES.is_dir():
        pytest.skip("no GTZAN samples beside the project")
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(real_cache))
    from paperlib.core.config import Config

    data = real_gtzan_data(Config(features_url=FEATURES.as_uri(), metadata_url=METADATA.as_uri()))
    run = gtzan_run_of(SAMPLES, tmp_path, [f"{g}.00000" for g in GENRES], list(GENRES))
    placed, why = real_genres.placed_check(data, run)
    assert why == "" and len(placed.tracks) == 10 and placed.tracks["in_table"].all()
    assert placed.agreement["within"].all() and placed.agreement["largest_difference_on_scale"].max() < 0.01
    assert (placed.tracks["artist"] != "").sum() >= 8
    found, _ = real_genres.artist_out_check(data)
    loao = artist_out_table(data.table, data.artists, cache_folder=real_cache / "gtzan-features")
    rows = data.table.tracks.reset_index().set_index("track_id").loc[placed.tracks["track_id"], "index"]
    # the clip's statistics are its row's (the harmonic and percussive means to 1e-5, a few hundredths
    # of their spread over the table), and its model the one that left its artist out
    assert np.allclose(placed.probabilities, loao[rows.to_numpy()], atol=0.02)
    assert (placed.probabilities.argmax(axis=1) == loao[rows.to_numpy()].argmax(axis=1)).all()
    assert 0.4 < found.top1 < found.top3 < 1


@needs_mirrors
@pytest.mark.slow
def test_notebook_10_places_a_gtzan_runs_clips(tmp_path, real_cache, monkeypatch):
    """Notebook 10 on a GTZAN run whose audio is the ten shared samples (nothing trained): the
    placed clips, their agreement with the table and the figure, recorded."""
    from paperlib.core.run_folder import open_existing_run
    from paperlib.core.results import RealGtzanResult
    from paperlib.publish.notebook_runner import run_notebooks
    from tests.conftest import mirror_overrides
    from tests.test_clip_statistics import SAMPLES

    if not SAMPLES.is_dir():
        pytest.skip("no GTZAN samples beside the project")
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(real_cache))
    run = gtzan_run_of(SAMPLES, tmp_path, [f"{g}.00000" for g in GENRES], list(GENRES))
    overrides = {"run_dir": str(run.path), "dataset": "gtzan", "data_dir": str(SAMPLES), **mirror_overrides()}
    [executed] = run_notebooks("smoke", overrides, only=[RealGtzanResult.step], progress=False, echo=False)
    m = open_existing_run(run.path).result(RealGtzanResult.step)
    assert len(m.placed_clips) == 10 and m.placed_agreement < 0.01
    assert m.placed_top1 == np.mean([c.true_rank == 1 for c in m.placed_clips])
    assert 0.4 < m.artist_out_top1 < m.artist_out_top3 < 1
    text = executed.read_text()
    assert '"output_type": "error"' not in text and "This run's clips among real GTZAN's" in text


@pytest.mark.slow  # over 10 s on a slow 2-core machine
@needs_mirrors
def test_without_the_artist_index_real_genres_come_without_reliability(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    argv = ["similar", str(path), "--run", str(run_dir), "--features-url", FEATURES.as_uri(),
            "--metadata-url", (tmp_path / "empty").as_uri()]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "artist index is missing" in out and "paperlib fetch metadata --dest DIR" in out
    assert "reliability: not measured (no artist index)" in out
    assert main([*argv, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["real_genres"]["reliability"] is None and "artist index" in found["real_genres"]["problem"]
    real = found["results"][0]["real_genres"]
    assert sorted(real["probabilities"]) == sorted(GENRES) and all(n["artist"] == "" for n in real["nearest"])
