"""Random vs artist-grouped folds: sibling runs found by fingerprint and parameters, the table, the
drop, and the book page (both splits side by side, or the command that runs the missing one)."""

from __future__ import annotations

import json

import pytest

from paperlib.core import paths
from paperlib.core.config import Config
from paperlib.core.registry import artifact
from paperlib.core.run_folder import RunFolder
from paperlib.publish.split_comparison import compare_splits
from paperlib.publish.splits_page import split_page
from tests.factories import data_result, training_result

FINGERPRINT = "a" * 64
PAPER = {"profile": "paper", "overrides": {}}


def make_run(name: str, *, split: str = "random", fingerprint: str = FINGERPRINT,
             folds: list[float] | None = None, oof: float = 0.8, mfcc: float = 0.5,
             mean_pool: float | None = 0.7, cv: bool = True, **params):
    """A run folder as the notebooks leave it (manifest by RunFolder, metrics of 01 and 03)."""
    config = Config(profile="paper", dataset="gtzan", data_dir="data/gtzan", split=split, **params)
    run = RunFolder(paths.runs_dir() / name, config)
    run.path.mkdir(parents=True)
    # a fault-filtered run keeps some of the folder's clips: its own fingerprint, the folder's source
    kept = "f" * 64 if split == "fault-filtered" else fingerprint
    run.bind_dataset(kept, run.path / "audio", source=fingerprint)
    run.record(data_result())
    if cv:
        run.record(training_result(folds=folds or [oof - 0.02, oof, oof + 0.02], oof=oof, mfcc=mfcc,
                                   mean_pool=mean_pool, split=split))
    return run.path


@pytest.fixture
def project_root(tmp_path, monkeypatch):
    """The project root moved to the test's folder, so run folders print as `runs/<name>`."""
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("GENRE_SIGNATURES_RUNS", str(tmp_path / "runs"))
    return tmp_path


def test_two_splits_give_two_rows_and_the_drop():
    paper = make_run("paper", oof=0.84, mfcc=0.61, folds=[0.80, 0.86, 0.86])
    make_run("paper-artist", split="artist", oof=0.52, mfcc=0.43, mean_pool=None,
             folds=[0.40, 0.55, 0.61])
    comparison = compare_splits(paper)
    table = comparison.table
    assert list(table["split"]) == ["random", "artist"]
    assert list(table["run"]) == ["paper", "paper-artist"]
    assert table.loc["artist", "oof_accuracy"] == pytest.approx(0.52)
    assert table.loc["artist", "fold_accuracy_mean"] == pytest.approx((0.40 + 0.55 + 0.61) / 3)
    assert table.loc["artist", "fold_accuracy_min"] == pytest.approx(0.40)
    assert table.loc["artist", "fold_accuracy_max"] == pytest.approx(0.61)
    assert table.loc["random", "mean_pool_oof_accuracy"] == pytest.approx(0.7)
    assert table.loc["artist", "mean_pool_oof_accuracy"] != table.loc["artist", "mean_pool_oof_accuracy"]
    drop = comparison.drop()
    assert drop["oof_accuracy"] == pytest.approx(0.84 - 0.52)
    assert drop["mfcc_logistic_accuracy"] == pytest.approx(0.61 - 0.43)
    # the same comparison seen from the artist run
    assert compare_splits(paths.runs_dir() / "paper-artist").drop()["oof_accuracy"] == pytest.approx(0.32)


def test_a_sibling_with_another_parameter_is_ignored():
    paper = make_run("paper")
    make_run("paper-artist", split="artist", epochs=3)
    comparison = compare_splits(paper)
    assert list(comparison.table["split"]) == ["random"] and comparison.drop() is None


def test_a_sibling_of_other_data_is_ignored():
    paper = make_run("paper")
    make_run("paper-artist", split="artist", fingerprint="b" * 64)
    assert list(compare_splits(paper).table["run"]) == ["paper"]


def test_where_the_data_came_from_does_not_matter():
    paper = make_run("paper")
    make_run("paper-artist", split="artist", metadata_url="file:///mirror/")
    assert compare_splits(paper).complete


def test_one_run_gives_one_row(tmp_path):
    paper = make_run("paper", oof=0.77)
    (tmp_path / "runs" / "not-a-run").mkdir()
    comparison = compare_splits(paper)
    assert len(comparison.table) == 1
    assert comparison.table.loc["random", "oof_accuracy"] == pytest.approx(0.77)
    assert not comparison.complete and comparison.drop() is None


def test_page_shows_both_splits_side_by_side(project_root):
    paper = make_run("paper", oof=0.843, mfcc=0.612, folds=[0.801, 0.862, 0.866])
    make_run("paper-artist", split="artist", oof=0.517, mfcc=0.433, folds=[0.402, 0.551, 0.598])
    page = split_page(compare_splits(paper), PAPER)
    assert page.startswith("# Random vs artist-grouped folds")
    assert "Sturm" in page and "`split: artist`" in page
    assert "| | random folds (run paper) | artist folds (run paper-artist) | random − artist |" in page
    assert "| folds | 3 | 3 |  |" in page and "| clips | 999 | 999 |  |" in page
    assert "| out-of-fold accuracy | 0.843 | 0.517 | +0.326 |" in page
    assert "| lowest fold | 0.801 | 0.402 | +0.399 |" in page
    assert "| highest fold | 0.866 | 0.598 | +0.268 |" in page
    assert "| MFCC baseline (logistic regression, same folds) | 0.612 | 0.433 | +0.179 |" in page
    assert "from 0.843 to 0.517: a drop of 0.326 (32.6 percentage points)" in page
    assert "make reproduce" not in page


def test_page_says_so_when_artist_folds_score_higher(project_root):
    paper = make_run("paper", oof=0.60)
    make_run("paper-artist", split="artist", oof=0.65)
    page = split_page(compare_splits(paper), PAPER)
    assert "artist-grouped folds score higher than the random ones (0.650 vs 0.600" in page


def test_page_gives_the_command_of_the_missing_split(project_root):
    paper = make_run("paper", oof=0.843)
    page = split_page(compare_splits(paper), PAPER)
    assert "Only the **random** (run `paper`) split has been run" in page
    assert "| out-of-fold accuracy | 0.843 |" in page
    assert 'make reproduce PROFILE=paper PARAMS="split=artist run_dir=runs/paper-artist"' in page
    assert ".venv/bin/paperlib book --run runs/paper" in page
    # the run's own overrides carry over; its run_dir does not
    page = split_page(compare_splits(paper), {"profile": "paper", "overrides": {
        "data_dir": "~/gtzan", "epochs": 60, "run_dir": "runs/paper"}})
    assert ('make reproduce PROFILE=paper PARAMS="split=artist run_dir=runs/paper-artist '
            'data_dir=~/gtzan epochs=60"') in page


def test_command_of_the_random_split_from_an_artist_run(project_root):
    artist = make_run("paper-artist", split="artist")
    page = split_page(compare_splits(artist), PAPER)
    assert "Only the **artist** (run `paper-artist`) split has been run" in page
    assert 'make reproduce PROFILE=paper PARAMS="split=random run_dir=runs/paper"' in page


def test_a_started_sibling_without_results_is_not_a_row(project_root):
    paper = make_run("paper")
    make_run("paper-artist", split="artist", cv=False)
    comparison = compare_splits(paper)
    assert len(comparison.table) == 1
    assert 'PARAMS="split=artist run_dir=runs/paper-artist"' in split_page(comparison, PAPER)


def test_values_with_spaces_get_the_paperlib_command(project_root):
    paper = make_run("paper")
    parameters = {"profile": "paper", "overrides": {"data_dir": "/my music/gtzan"}}
    page = split_page(compare_splits(paper), parameters)
    assert ".venv/bin/paperlib reproduce --profile paper --set split=artist --set " in page
    assert "--set 'data_dir=/my music/gtzan'" in page


def test_synthetic_page_says_artist_folds_are_for_gtzan(project_root):
    config = Config(profile="default")
    run = RunFolder(paths.runs_dir() / "default", config)
    run.path.mkdir(parents=True)
    run.bind_dataset(FINGERPRINT, run.path / "audio")
    run.record(training_result(folds=[0.9, 0.924], oof=0.912, mfcc=0.5, mean_pool=None))
    page = split_page(compare_splits(run.path), {"profile": "default", "overrides": {}})
    assert "artist-grouped folds apply to GTZAN only" in page
    assert "| out-of-fold accuracy | 0.912 |" in page
    assert "mean pooling" not in page  # not recorded, so not shown
    assert 'make reproduce PROFILE=paper PARAMS="split=artist run_dir=runs/paper-artist"' in page


def test_fault_filtered_sibling_is_a_third_row(project_root):
    paper = make_run("paper", oof=0.84)
    make_run("paper-artist", split="artist", oof=0.52)
    make_run("paper-fault-filtered", split="fault-filtered", oof=0.61, folds=[0.61])
    comparison = compare_splits(paper)
    assert list(comparison.table["split"]) == ["random", "artist", "fault-filtered"]
    assert comparison.drop()["oof_accuracy"] == pytest.approx(0.32)
    page = split_page(comparison, PAPER)
    assert "fault-filtered lists (run paper-fault-filtered)" in page
    assert ("| held-out accuracy (out of fold; fault-filtered: the test list) | 0.840 | 0.520 | "
            "0.610 | +0.320 |") in page


def test_a_fault_filtered_run_gets_both_commands(project_root):
    run = make_run("paper-fault-filtered", split="fault-filtered", folds=[0.6])
    page = split_page(compare_splits(run), PAPER)
    assert "Only the **fault-filtered** (run `paper-fault-filtered`) split has been run" in page
    assert 'make reproduce PROFILE=paper PARAMS="split=random run_dir=runs/paper"' in page
    assert 'make reproduce PROFILE=paper PARAMS="split=artist run_dir=runs/paper-artist"' in page


def test_the_newest_of_two_runs_of_one_split_is_shown():
    paper = make_run("paper")
    make_run("a-artist", split="artist", oof=0.41)
    newer = make_run("b-artist", split="artist", oof=0.42)
    manifest = json.loads((newer / artifact("manifest").relative()).read_text())
    manifest["updated"] = "2999-01-01T00:00:00+00:00"
    (newer / artifact("manifest").relative()).write_text(json.dumps(manifest))
    assert compare_splits(paper).table.loc["artist", "run"] == "b-artist"
