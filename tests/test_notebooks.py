"""Run every notebook with papermill on the smoke profile and check the numbers each one saves."""

import json

import pytest

from paperlib.analysis.split_baselines import CLASSIFIERS
from paperlib.core.results import VERDICTS, RealGtzanResult
from paperlib.core.run_folder import open_existing_run
from paperlib.data.genres import GENRES
from paperlib.publish.notebook_runner import NotebookFailed, notebook_names, run_notebooks
from tests.conftest import mirror_overrides


@pytest.mark.slow
def test_notebooks_run_and_save_their_metrics(smoke_run):
    run_dir, executed = smoke_run
    assert [p.stem for p in executed] == notebook_names() and RealGtzanResult.step in notebook_names()
    metrics = open_existing_run(run_dir).results()

    data = metrics["01_data"]
    assert data.clips == 120 and data.skipped == 0
    assert data.token_shape == [10, 217, 45] and data.image_frames == 335
    assert 3.8 < data.token_seconds < 4.1 and 0.9 < data.token_overlap_seconds < 1.2
    assert 0.08 < data.chance_top1_recovery < 0.2

    model = metrics["02_model"]
    assert model.roundtrip_max_difference == 0.0
    assert model.attention_sum_max_error < 1e-5
    assert model.output_shapes["attention"] == [10] and model.output_shapes["genre"] == [10]

    cv = metrics["03_cv_training"]
    assert len(cv.fold_accuracies) == 3
    assert cv.oof_accuracy > 3 * cv.chance, "smoke training should be clearly above chance"
    assert 0 <= cv.mfcc_logistic_accuracy <= 1
    assert cv.mean_pool_oof_accuracy is None  # the ablation is off in the smoke profile
    for step in notebook_names():
        assert metrics[step].claims, f"{step} saved no 'paper vs this run' claims"
        assert all(c.verdict in VERDICTS for c in metrics[step].claims)


@pytest.mark.slow
def test_confusion_metrics(smoke_run):
    m = open_existing_run(smoke_run[0]).results()["04_confusion"]
    assert 0.2 < m.accuracy <= 1.0
    assert set(m.per_genre_recall) == set(GENRES) and set(m.per_genre_f1) == set(GENRES)
    assert all(0.0 <= v <= 1.0 for v in m.per_genre_recall.values())
    assert 1 <= len(m.top_confused_pairs) <= 5
    counts = [p[2] for p in m.top_confused_pairs]
    assert counts == sorted(counts, reverse=True) and all(p[0] in GENRES for p in m.top_confused_pairs)
    assert 0.2 < m.mfcc_accuracy <= 1.0 and 0.0 <= m.mcnemar_p_mfcc <= 1.0
    assert m.mean_pool_accuracy is None and m.mcnemar_p_mean is None
    assert m.claims[3].verdict == "not testable here"


@pytest.mark.slow
def test_pca_and_equation_metrics(smoke_run):
    metrics = open_existing_run(smoke_run[0]).results()
    m = metrics["05_pca"]
    assert len(m.explained_variance_2d) == 2 and len(m.explained_variance_3d) == 3
    assert 0 < sum(m.explained_variance_2d) <= sum(m.explained_variance_3d) <= 1 + 1e-9
    assert set(m.mean_distance_to_others) == set(GENRES)
    assert len(m.farthest_two) == 2 and 1 <= m.disco_pop_rank <= 9
    m = metrics["06_equations"]
    assert m.space == "full" and 0 <= m.n_equations_under_threshold <= 720
    assert len(m.top_equations) == 10
    assert [e.equation for e in m.paper_equations] == [
        "blues - country + disco = rock", "disco - metal + rock = pop", "disco - reggae + pop = rock"]
    assert all(1 <= e.rank <= 720 and e.error >= 0 for e in m.paper_equations)
    assert 0 < m.null_random_p <= 1 and 0 < m.null_permutation_p <= 1
    assert set(m.nearest_genres) == set(GENRES)
    assert all(len(v) == 2 and g not in v for g, v in m.nearest_genres.items())


@pytest.mark.slow
def test_attention_metrics(smoke_run):
    m = open_existing_run(smoke_run[0]).results()["07_attention_listening"]
    assert m.recovery is not None and 0.0 < m.recovery_chance < 0.5
    assert m.recovery > m.recovery_chance, "attention should point at the planted moment"
    assert set(m.recovery_by_genre) <= set(GENRES)
    assert 0.0 <= m.first_occurrence_share <= 1.0 and 0.0 <= m.first_occurrence_p <= 1.0
    assert set(m.ending_share) == set(GENRES) and m.ending_chance == 0.2
    assert len(m.examples) == 50 and len(set(m.examples)) == 50


@pytest.mark.slow
def test_recommendation_metrics(smoke_run):
    m = open_existing_run(smoke_run[0]).results()["08_recommendations"]
    assert set(m.precision_at_5) == {"attention signature", "mean-pooled embedding", "MFCC statistics"}
    assert all(0 <= v <= 1 for v in m.precision_at_5.values())
    assert 0.09 < m.chance <= 0.11
    assert m.precision_at_5["attention signature"] > 1.5 * m.chance
    assert m.mean_pooled_source == "attention_token_mean"  # no ablation in the smoke profile
    assert len(m.examples) == 10
    assert all(len(e.recommendations) == 5 and e.query not in e.recommendations
               for e in m.examples)


@pytest.mark.slow
def test_explanation_metrics(smoke_run):
    run = open_existing_run(smoke_run[0])
    m = run.results()["09_explanations"]
    assert m.clips == 120 and m.recovery is not None and set(m.recovery) == {"attention", "occlusion", "gradients"}
    for r in m.recovery.values():
        assert 0 <= r.low <= r.recovery <= r.high <= 1 and 0 < r.chance < 0.5 and r.clips > 10
    assert set(m.deletion_probability_area) == {"attention", "occlusion", "gradients", "random order"}
    assert all(0 < a < 1 for a in m.deletion_probability_area.values())
    assert m.deletion_accuracy_area["attention"] < m.deletion_accuracy_area["random order"], \
        "removing the highest-attention tokens first should hurt more than a random order"
    assert set(m.tau_median) == {"attention vs occlusion", "attention vs gradients", "occlusion vs gradients"}
    saved = run.load_arrays("explanations")
    assert saved["score_occlusion"].shape == (120, 10) and saved["deletion_prob_attention"].shape == (120, 11)


@pytest.mark.slow
def test_real_gtzan_statistics_metrics(smoke_run):
    if len(mirror_overrides()) < 2:
        pytest.skip("the feature table and metadata mirrors are absent")
    results = open_existing_run(smoke_run[0]).results()
    m = results[RealGtzanResult.step]
    assert m.clips == 1000 and m.statistics == 57 and m.fold_seeds == [42, 43, 44]
    accuracy = {(b.classifier, b.split): b for b in m.baselines}
    assert set(accuracy) == {(c, s) for c in CLASSIFIERS for s in ("random", "artist", "fault-filtered")}
    assert all(0.1 < b.low <= b.accuracy <= b.high < 1 for b in m.baselines)
    random, artist = accuracy[("logistic regression", "random")], accuracy[("logistic regression", "artist")]
    assert random.accuracy - artist.accuracy == pytest.approx(m.leakage_drop)
    assert m.leakage_drop_low > 0.05, "real GTZAN's artist leakage is well over 5 points"
    assert accuracy[("RBF SVM", "fault-filtered")].clips == 290 and random.clips == 1000
    assert m.confusion_split == "artist" and set(m.per_genre_recall) == set(GENRES)
    assert [e.equation for e in m.paper_equations] == [e.equation for e in results["06_equations"].paper_equations]
    assert m.run_split_accuracy is None and "synthetic" in m.missing["run_split_accuracy"]
    keyed = {c.key for step in ("04_confusion", "05_pca", "06_equations") for c in results[step].claims if c.key}
    assert keyed and keyed <= {c.key for c in m.claims}, "every claim the table can test has its real row"
    assert all(c.verdict in VERDICTS for c in m.claims)


@pytest.mark.slow
def test_notebook_10_records_the_real_genre_models_reliability(smoke_run):
    if len(mirror_overrides()) < 2:
        pytest.skip("the feature table and metadata mirrors are absent")
    m = open_existing_run(smoke_run[0]).result(RealGtzanResult.step)
    assert 0.4 < m.artist_out_top1 < m.artist_out_top3 < 1 and m.artist_out_artists > 300
    assert m.placed_clips is None and "synthetic" in m.missing["placed_clips"]
    text = smoke_run[1][-1].read_text()
    assert f"{m.artist_out_top1:.1%}" in text and "No clips placed" in text


@pytest.mark.slow
def test_executed_notebooks_have_no_errors(smoke_run):
    _, executed = smoke_run
    for path in executed:
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                assert output.get("output_type") != "error", f"{path.name}: {output.get('evalue')}"


@pytest.mark.slow
def test_a_later_notebook_names_the_one_to_run_first(tmp_path):
    with pytest.raises(NotebookFailed, match=r"03_cv_training failed.*run notebook 01_data first"):
        run_notebooks("smoke", {"run_dir": str(tmp_path / "empty")}, only=["03_cv_training"],
                      progress=False)
