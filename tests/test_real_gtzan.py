"""Real GTZAN without its audio (notebook 10): fetching the feature table from the mirror (file:// and
a 127.0.0.1 server, never the network), reading it, the split classifiers and their intervals, the
verdict rules on hand-made inputs, the claims page's real-GTZAN column, and the notebook without
the table."""

from __future__ import annotations

import functools
import json
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from paperlib.analysis import confusion as conf
from paperlib.analysis.real_gtzan import clip_statistics_splits, on_run_folds
from paperlib.analysis.split_baselines import SplitPredictions, drop, group_bootstrap
from paperlib.claims.confusion import genre_confusion_claims
from paperlib.claims.real_gtzan import (
    LEAKAGE_KEY,
    MARK,
    closing_note,
    leakage_claim,
    model_claim,
    paired_claim,
    real_gtzan_result,
    references_table,
)
from paperlib.cli import main
from paperlib.core.config import load_profile, Config
from paperlib.core.results import RealGtzanResult
from paperlib.data import download as dl
from paperlib.data.feature_table import FeatureTable, RealGtzanData, read_feature_table, real_gtzan_data
from paperlib.data.folds import LEFT_OUT, TRAIN_ONLY, VALIDATION, filtered_folds
from paperlib.data.genres import GENRES
from tests.conftest import FEATURES, METADATA, serving

CSV = FEATURES / dl.FEATURES_FILE


@pytest.fixture
def mirror():
    if not CSV.is_file():
        pytest.skip(f"{CSV} is absent")
    return FEATURES


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """An empty project cache: nothing fetched before counts."""
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- fetching --------------------------------------------------------------------------------

def test_feature_constants_match_sources(mirror):
    text = (mirror / "SOURCES.md").read_text()
    assert dl.FEATURES_SHA256 in text and str(dl.FEATURES_SIZE) in text
    assert dl.sha256_of(CSV) == dl.FEATURES_SHA256 and CSV.stat().st_size == dl.FEATURES_SIZE
    for url in dl.FEATURES_URLS:  # pinned commits, never a branch
        assert url.startswith("https://") and any(c in url for c in ("17ebc5e0de1aff13674648ad82ff6b7e0683d5bf",
                                                                      "b7bf2a77e49245f352b062a12ad1bad520580bb9"))


def test_features_from_a_file_url_and_the_cli(tmp_path, mirror, capsys):
    got = dl.fetch_features(tmp_path / "f", base_url=mirror.as_uri())
    assert got == tmp_path / "f" / dl.FEATURES_FILE and got.read_bytes() == CSV.read_bytes()
    assert main(["fetch", "features", "--dest", str(tmp_path / "cli"), "--base-url", mirror.as_uri()]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli" / dl.FEATURES_FILE)


def test_features_over_http(tmp_path, mirror):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *args: None
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        got = dl.fetch_features(tmp_path, base_url=url, timeout=5)
    assert dl.sha256_of(got) == dl.FEATURES_SHA256


def test_a_wrong_file_is_kept_aside_with_a_clear_error(tmp_path, mirror):
    spoiled = tmp_path / "www"
    spoiled.mkdir()
    data = bytearray(CSV.read_bytes())
    data[500] ^= 1
    (spoiled / dl.FEATURES_FILE).write_bytes(bytes(data))
    with pytest.raises(dl.DownloadError, match=r"Checksum mismatch for features_30_sec.csv.*moved aside"):
        dl.fetch_features(tmp_path / "f", base_url=spoiled.as_uri())
    assert (tmp_path / "f" / "features_30_sec.csv.bad").is_file()
    assert not (tmp_path / "f" / dl.FEATURES_FILE).exists()


def test_an_empty_mirror_is_named_with_the_command_that_fixes_it(tmp_path, own_cache, capsys):
    (tmp_path / "empty").mkdir()
    config = Config(features_url=(tmp_path / "empty").as_uri())
    data = real_gtzan_data(config)
    assert data.table is None and list(data.problems) == ["feature table"]
    assert "Could not download features_30_sec.csv" in data.problems["feature table"]
    assert "paperlib fetch features --dest DIR" in data.problems["feature table"]
    assert main(["fetch", "features", "--dest", str(tmp_path / "f"),
                 "--base-url", (tmp_path / "empty").as_uri()]) == 2
    assert dl.FEATURES_SHA256 in capsys.readouterr().err


def test_features_url_is_a_location_not_a_result_parameter():
    assert Config(features_url="file:///x").key() == Config().key()


def test_the_table_without_metadata_still_gives_the_random_folds(tmp_path, own_cache, mirror):
    (tmp_path / "empty").mkdir()
    config = Config(folds=3, features_url=mirror.as_uri(), metadata_url=(tmp_path / "empty").as_uri())
    data = real_gtzan_data(config)
    assert data.table is not None and data.artists is None
    assert "paperlib fetch metadata" in data.problems["GTZAN metadata (artists, fault-filtered lists)"]


# --- reading ---------------------------------------------------------------------------------

def test_the_real_table_is_read(mirror):
    table = read_feature_table(CSV)
    assert table.statistics.shape == (1000, 57) and "length" not in table.columns
    assert table.tracks["track_id"].iloc[0] == "blues.00000" and "jazz.00054" in set(table.tracks["track_id"])
    assert np.bincount(table.labels).tolist() == [100] * 10


@pytest.mark.parametrize("text, message", [
    ("filename,tempo\nblues.00000.wav,120\n", r"lacks the column\(s\) \['label'\]"),
    ("filename,tempo,label\nblues.00000.wav,120,polka\n", "unknown genre label"),
    ("filename,tempo,label\nblues.00000.wav,,blues\n", "gaps or non-numbers"),
    ("filename,tempo,label\nblues.00000.wav,1,blues\nblues.00000.wav,2,blues\n", "more than once"),
])
def test_a_malformed_table_is_refused_by_name(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_feature_table(tmp_path / "t.csv")


# --- splits and intervals ---------------------------------------------------------------------

def _artist_world(seed: int = 0):
    """10 genres x 4 artists x 6 clips whose statistics mostly say who plays, little which genre:
    random folds can recognise the artist, artist folds cannot."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 24)
    artist = np.repeat(np.arange(40), 6)
    stats = rng.normal(size=(40, 40))[artist] * 3 + rng.normal(size=(240, 40)) * 0.5
    ids = [f"{GENRES[g]}.{i:05d}" for i, g in enumerate(labels)]
    tracks = pd.DataFrame({"track_id": ids, "genre": [GENRES[g] for g in labels], "label": labels})
    artists = pd.DataFrame({"track_id": ids, "artist": [f"artist {a}" for a in artist]})
    lists = pd.Series({t: ("test" if i % 6 == 0 else "valid" if i % 6 == 1 else "train")
                       for i, t in enumerate(ids) if i % 12 != 11}, name="split")
    return FeatureTable(tracks, stats, [f"s{j}" for j in range(40)]), artists, lists


def test_artist_leakage_is_found_where_it_is_built_in():
    table, artists, lists = _artist_world()
    splits = clip_statistics_splits(table, RealGtzanData(table, artists, lists), Config(folds=4))
    rows = splits.accuracies.set_index(["classifier", "split"])
    assert set(rows.index) == {(c, s) for c in ("logistic regression", "RBF SVM")
                               for s in ("random", "artist", "fault-filtered")}
    assert rows.loc[("logistic regression", "random"), "accuracy"] > 0.8
    assert rows.loc[("logistic regression", "artist"), "accuracy"] < 0.4
    assert splits.groups == "artists" and splits.leakage[1] > 0.3  # the whole interval above 0
    assert leakage_claim(splits).holds is True
    assert rows.loc[("RBF SVM", "fault-filtered"), "clips"] == 40  # the test list only
    assert all(lo <= acc <= hi for acc, lo, hi in rows[["accuracy", "low", "high"]].to_numpy())


def test_no_leakage_where_artists_do_not_matter():
    table, artists, lists = _artist_world()
    rng = np.random.default_rng(1)
    genre_only = FeatureTable(table.tracks, rng.normal(size=(10, 40))[table.labels] * 0.6
                              + rng.normal(size=(240, 40)), table.columns)
    splits = clip_statistics_splits(genre_only, RealGtzanData(genre_only, artists, lists), Config(folds=4))
    assert splits.leakage[1] <= 0 <= splits.leakage[2]
    assert leakage_claim(splits).holds is False


def test_without_artists_only_random_folds_and_no_leakage_verdict():
    table, _, _ = _artist_world()
    splits = clip_statistics_splits(table, RealGtzanData(table, None, None), Config(folds=4))
    assert set(splits.accuracies["split"]) == {"random"} and splits.groups == "clips"
    claim = leakage_claim(splits, "no artist index")
    assert claim.holds is None and claim.this_run == "not testable: no artist index"


def test_group_bootstrap_is_wider_when_whole_groups_move():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 10)
    values = np.repeat(rng.random(20) < 0.5, 10).astype(float)  # right or wrong artist by artist
    by_artist = group_bootstrap(values, groups)
    by_clip = group_bootstrap(values, np.arange(200))
    assert by_artist[0] <= values.mean() <= by_artist[1]
    assert by_artist[1] - by_artist[0] > 2 * (by_clip[1] - by_clip[0])
    values[:5] = np.nan  # left out, not counted
    low, high = group_bootstrap(values, groups)
    assert low <= np.nanmean(values) <= high
    with pytest.raises(ValueError, match="one length"):
        group_bootstrap(values, groups[:-1])


def test_drop_is_paired_on_the_same_clips():
    labels = np.zeros(6, dtype=int)
    good = SplitPredictions("c", "random", np.array([[0, 0, 0, 0, 1, -1]]))
    bad = SplitPredictions("c", "artist", np.array([[0, 1, 1, 1, 1, 0]]))
    value, low, high = drop(good, bad, labels, np.arange(6))
    assert value == pytest.approx(0.6)  # 4 of 5 right against 1 of 5 on the five clips both hold out
    assert low <= value <= high


def test_filtered_folds_mark_every_role():
    lists = pd.Series({"a": "train", "b": "valid", "c": "test"})
    assert filtered_folds(["a", "b", "c", "d"], lists).tolist() == [TRAIN_ONLY, VALIDATION, 0, LEFT_OUT]


def test_the_run_model_is_compared_on_its_own_folds():
    table, _, _ = _artist_world()
    table = FeatureTable(table.tracks, np.random.default_rng(2).normal(size=(240, 5)), table.columns[:5])
    tracks = table.tracks.iloc[::-1].reset_index(drop=True)  # another order than the table's
    folds = np.tile(np.arange(4), 60)
    probabilities = np.eye(10)[tracks["label"]]  # a model that is always right
    comparison = on_run_folds(table, tracks, folds, probabilities)
    assert comparison.loc["attention", "accuracy"] == 1.0
    assert set(comparison.index) == {"attention", "logistic regression", "RBF SVM"}
    claim = model_claim(comparison, split="random")
    assert claim.holds is True and "McNemar" in claim.this_run
    with pytest.raises(ValueError, match="not in the feature table"):
        on_run_folds(table, tracks.assign(track_id="rock.99999"), folds, probabilities)


# --- verdict rules on hand-made inputs ----------------------------------------------------------

def _claims_from(counts: dict[tuple[str, str], int]) -> dict[str, bool | None]:
    """The confusion claims of a confusion matrix: 90 right per genre plus the given confusions."""
    matrix = np.diag(np.full(10, 90))
    for (a, b), n in counts.items():
        matrix[GENRES.index(a), GENRES.index(b)] = n
    labels = np.repeat(np.arange(10), matrix.sum(1))
    predicted = np.concatenate([np.repeat(np.arange(10), row) for row in matrix])
    pairs, scores = conf.confused_pairs(matrix), conf.per_genre_scores(labels, predicted)
    return {c.key: c.holds for c in genre_confusion_claims(pairs, scores)}


def test_blues_and_country_confused_holds():
    got = _claims_from({("blues", "country"): 12, ("country", "blues"): 9, ("hiphop", "reggae"): 10,
                        ("rock", "metal"): 3})
    assert got["confused:blues-country"] is True and got["confused:hiphop-reggae"] is True


def test_blues_and_country_apart_does_not_hold():
    got = _claims_from({("disco", "rock"): 12, ("hiphop", "reggae"): 10, ("pop", "disco"): 8,
                        ("metal", "rock"): 7, ("blues", "country"): 1, ("classical", "jazz"): 30})
    assert got["confused:blues-country"] is False
    assert got["recall:classical-jazz"] is False  # classical loses 30 clips to jazz


def test_claims_are_not_testable_without_the_table():
    config = Config()
    problems = {"feature table": "Could not download features_30_sec.csv. To fix: run `paperlib fetch features`."}
    result = real_gtzan_result(config=config, problems=problems, comparison_reason="dataset synthetic")
    assert isinstance(result, RealGtzanResult) and result.clips is None and result.baselines == []
    assert all(c.verdict == "not testable here" for c in result.claims)
    assert "paperlib fetch features" in result.missing["clips"]
    assert result.missing["run_split_accuracy"] == "dataset synthetic"
    assert paired_claim(result, "confused:blues-country")[1] == "not testable here"
    assert paired_claim(result, "") == ("", "")
    assert "Nothing was measured" in closing_note(result)
    assert RealGtzanResult.model_validate(json.loads(result.model_dump_json())) == result
    table = references_table(None)
    assert table["source"].str.startswith("literature").all() and "79.7%" in set(table["accuracy"])


def test_the_claims_page_puts_real_verdicts_beside_this_runs():
    from paperlib.core.results import Claim
    from paperlib.publish.book import claims_page

    own = [Claim("3.1", "blues and country are confused", "some", "rank 1", True, key="confused:blues-country"),
           Claim("abstract", "attention beats MFCC", "x", "0.9 vs 0.5", True)]
    real = RealGtzanResult.model_construct(claims=[Claim(
        section="3.1", claim=f"blues and country are confused ({MARK})", paper="some",
        this_run="logistic regression, artist folds: rank 4", holds=False, key="confused:blues-country"),
        Claim(section="3.1", claim="leak", paper="p", this_run="t", holds=True, key=LEAKAGE_KEY)],
        missing={})
    step = RealGtzanResult.step
    run = {"results": {"04_confusion": SimpleNamespace(claims=own), step: real},
           "notebooks": {"04_confusion": None, step: None}, "run_dir": Path("runs/r"),
           "manifest": {"config": {"dataset": "synthetic"}}, "parameters": {"profile": "smoke", "overrides": {}}}
    page = claims_page(run, {"04_confusion": "04", step: "10"})
    assert "| section | claim | paper | this run | verdict | real GTZAN statistics |" in page
    assert "| rank 1 | **holds** | logistic regression, artist folds: rank 4: **does not hold** |" in page
    assert "| 0.9 vs 0.5 | **holds** | — |" in page
    assert "synthetic genres" in page and "come from **real GTZAN**" in page
    assert page.count("real GTZAN statistics |") == 1  # notebook 10's own table has no such column


# --- the notebook without the table ---------------------------------------------------------------

@pytest.mark.slow
def test_the_notebook_says_what_is_missing_and_completes(tmp_path, own_cache):
    from paperlib.core.run_folder import open_existing_run
    from paperlib.publish.notebook_runner import run_notebooks

    (tmp_path / "empty").mkdir()
    run_dir = tmp_path / "run"
    [executed] = run_notebooks("smoke", {"run_dir": str(run_dir), "features_url": (tmp_path / "empty").as_uri()},
                               only=[RealGtzanResult.step], progress=False)
    result = open_existing_run(run_dir).result(RealGtzanResult.step)
    assert result.clips is None and result.claims
    assert all(c.verdict == "not testable here" for c in result.claims)
    text = executed.read_text()
    assert "MISSING feature table" in text and "paperlib fetch features --dest DIR" in text
    assert '"output_type": "error"' not in text


def test_load_profile_accepts_the_mirror_overrides():
    config = load_profile("smoke", features_url=FEATURES.as_uri(), metadata_url=METADATA.as_uri())
    assert config.features_url.startswith("file://") and config.key() == load_profile("smoke").key()


def test_a_gtzan_runs_model_is_compared_once_it_is_trained(tmp_path):
    from paperlib.analysis.real_gtzan import model_comparison
    from paperlib.core.run_folder import open_run

    table, _, _ = _artist_world()
    config = Config(dataset="gtzan", data_dir=str(tmp_path), run_dir=str(tmp_path / "run"), folds=4)
    run = open_run(config)
    assert model_comparison(run, table, config) == (None, "notebook 03 has not trained this run's model yet")
    assert model_comparison(run, None, config)[0] is None
    assert "synthetic" in model_comparison(run, table, Config())[1]
    run.save_table("tracks", table.tracks.assign(path="x.wav"))
    folds = np.tile(np.arange(4), 60)
    run.save_arrays("oof", {"genre": np.eye(10)[table.labels], "fold": folds, "label": table.labels},
                    pooling="attention")
    comparison, why_not = model_comparison(run, table, config)
    assert why_not == "" and comparison.loc["attention", "accuracy"] == 1.0


def test_a_claim_measured_on_the_table_is_marked_and_keeps_its_key():
    from paperlib.claims.real_gtzan import MARK, marked
    from paperlib.core.results import Claim

    [claim] = marked([Claim("3.1", "blues and country are confused", "some", "rank 1", True, key="k")],
                     "logistic regression")
    assert claim.claim.endswith(f"({MARK})") and claim.this_run == "logistic regression: rank 1"
    assert claim.key == "k" and claim.verdict == "holds"
