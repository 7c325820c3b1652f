"""Run notebooks 01-03 with papermill on the smoke profile and check the numbers each one saves."""

import json

import pytest

from paperlib.notebook_runner import NotebookFailed, run_notebooks


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke") / "run"
    executed = run_notebooks("smoke", {"run_dir": str(run_dir)}, progress=False)
    return run_dir, executed


@pytest.mark.slow
def test_notebooks_run_and_save_their_metrics(smoke_run):
    run_dir, executed = smoke_run
    assert [p.stem for p in executed] == ["01_data", "02_model", "03_cv_training"]
    metrics = json.loads((run_dir / "metrics.json").read_text())

    data = metrics["01_data"]
    assert data["clips"] == 120 and data["skipped"] == 0
    assert data["token_shape"] == [10, 217, 45] and data["image_frames"] == 335
    assert 3.8 < data["token_seconds"] < 4.1 and 0.9 < data["token_overlap_seconds"] < 1.2
    assert 0.08 < data["chance_top1_recovery"] < 0.2

    model = metrics["02_model"]
    assert model["roundtrip_max_difference"] == 0.0
    assert model["attention_sum_max_error"] < 1e-5
    assert model["output_shapes"]["attention"] == [10] and model["output_shapes"]["genre"] == [10]

    cv = metrics["03_cv_training"]
    assert len(cv["fold_accuracies"]) == 3
    assert cv["oof_accuracy"] > 3 * cv["chance"], "smoke training should be clearly above chance"
    assert 0 <= cv["mfcc_logistic_accuracy"] <= 1
    for step in ("01_data", "02_model", "03_cv_training"):
        assert metrics[step]["claims"], f"{step} saved no 'paper vs this run' claims"


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
