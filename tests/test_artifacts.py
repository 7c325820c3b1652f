import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paperlib.core.config import Config
from paperlib.core.files import atomic_path, write_json
from paperlib.core.registry import FINAL
from paperlib.core.results import SCHEMA_VERSION, TrainingResult
from paperlib.core.run_folder import RunFolderError, open_existing_run, open_run
from tests.factories import data_result, training_result


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_files_are_reached_through_the_registry_and_results_are_typed():
    run = open_run(Config(profile="t"))
    run.save_table("tracks", pd.DataFrame({"track_id": ["a", "b"], "genre": ["x", "y"], "label": [1, 2],
                                           "path": ["x/a.wav", "y/b.wav"], "motif_tokens": ["3", None]}))
    run.save_arrays("oof", {"x": np.arange(3)}, pooling="mean")
    assert run.path_of("oof", pooling="mean") == run.path / "oof_mean.npz"
    assert run.path_of("model", pooling="attention", fold=FINAL) == run.path / "cv/attention/final/model.keras"
    assert run.path_of("model_done", pooling="mean", fold=2) == run.path / "cv/mean/fold_2/done.json"
    assert run.load_table("tracks").shape == (2, 5)
    run.save_table("tracks", pd.DataFrame({"track_id": ["a", None], "genre": ["x", "y"], "label": [1, 2],
                                           "path": ["x/a.wav", "y/b.wav"]}))
    with pytest.raises(RunFolderError, match=r"lacks usable column\(s\) \['track_id'\]"):
        run.load_table("tracks")
    assert run.load_arrays("oof", pooling="mean")["x"].tolist() == [0, 1, 2]
    run.record(data_result())
    run.record(training_result(folds=[0.5, 0.7]))
    results = run.results()
    assert isinstance(results["03_cv_training"], TrainingResult)
    assert results["03_cv_training"].fold_accuracies == [0.5, 0.7]
    manifest = run.manifest()
    assert manifest["config_key"] == Config(profile="t").key()
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert set(manifest["steps"]) == {"01_data", "03_cv_training"}
    assert {"packages", "config"} <= set(manifest) and "git_commit" not in manifest


def test_unknown_artifacts_and_wrong_fields_are_refused():
    run = open_run(Config(profile="t"))
    with pytest.raises(ValueError, match="No artifact 'oof_mean.npz' is declared"):
        run.path_of("oof_mean.npz")
    with pytest.raises(ValueError, match=r"takes the fields \['pooling'\], got none"):
        run.path_of("oof")


def test_metrics_are_strict_json_with_a_reason_for_every_missing_value():
    with pytest.raises(ValueError, match="finite number"):
        training_result(folds=[0.5, 0.7], oof=float("nan"))
    with pytest.raises(ValueError, match="without a reason"):
        training_result(folds=[0.5, 0.7], mean_pool=0.5, mean_pool_oof_accuracy=None)
    with pytest.raises(ValueError, match="which have values"):
        training_result(folds=[0.5, 0.7], missing={"oof_accuracy": "?"})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_json(Path("/nonexistent/never.json"), {"x": float("nan")})


def test_a_renamed_key_or_an_older_schema_is_refused_with_what_to_do():
    run = open_run(Config(profile="t"))
    run.record(training_result(folds=[0.5, 0.7]))
    stored = json.loads(run.path_of("metrics").read_text())
    stored["03_cv_training"]["oof_acc"] = stored["03_cv_training"].pop("oof_accuracy")
    write_json(run.path_of("metrics"), stored)
    with pytest.raises(ValueError, match="oof_accuracy: Field required.*Run notebook 03_cv_training again"):
        run.results()
    manifest = run.manifest()
    del manifest["schema_version"]
    write_json(run.path_of("manifest"), manifest)
    with pytest.raises(RunFolderError, match="older version of paperlib .results schema 1.*Delete the folder"):
        open_run(Config(profile="t"))
    with pytest.raises(RunFolderError, match="results schema 1"):
        open_existing_run(run.path)


def test_other_parameters_are_refused_with_the_difference():
    open_run(Config(profile="t", epochs=5))
    with pytest.raises(RunFolderError, match=r"other parameters \(epochs: 5 -> 6\)"):
        open_run(Config(profile="t", epochs=6))
    open_run(Config(profile="t", epochs=5, workers=1))  # runtime parameters do not matter


def test_a_parameter_added_since_the_run_is_accepted_at_its_default_only():
    run = open_run(Config(profile="t", epochs=5))
    manifest = run.manifest()
    del manifest["config"]["source"]  # as written before the code had `source`
    manifest["config_key"] = "older"
    write_json(run.path_of("manifest"), manifest)
    with pytest.raises(RunFolderError, match=r"source: 'audio' -> 'images'"):
        open_run(Config(profile="t", epochs=5, dataset="gtzan", data_dir="x", source="images"))
    with pytest.raises(RunFolderError, match="epochs"):
        open_run(Config(profile="t", epochs=6))
    assert open_run(Config(profile="t", epochs=5)).manifest()["config_key"] == \
        Config(profile="t", epochs=5).key()


def test_other_data_is_refused(tmp_path):
    run = open_run(Config(profile="t"))
    run.bind_dataset("a" * 64, tmp_path)
    run.bind_dataset("a" * 64, tmp_path)
    with pytest.raises(RunFolderError, match="made from other data"):
        run.bind_dataset("b" * 64, tmp_path)


def test_missing_artifacts_name_the_notebook_to_run():
    run = open_run(Config(profile="t"))
    with pytest.raises(RunFolderError, match="has no oof_attention.npz, which notebook 03_cv_training writes: run notebook 03_cv_training first"):
        run.load_arrays("oof", pooling="attention")
    with pytest.raises(RunFolderError, match="no results of 04_confusion: run notebook 04_confusion"):
        run.result("04_confusion")
    with pytest.raises(RunFolderError, match="run notebook 01_data first"):
        open_run(Config(profile="never"), create=False)
