import numpy as np
import pandas as pd
import pytest

from paperlib.core.run_folder import RunFolderError, open_run
from paperlib.core.files import atomic_path
from paperlib.core.config import make_config


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_typed_roundtrip_and_metrics():
    run = open_run(make_config(profile="t"))
    run.save_table("t.csv", pd.DataFrame({"a": [1, 2], "b": ["x", None]}))
    run.save_arrays("a.npz", x=np.arange(3))
    run.record_metrics("01", {"n": 1})
    run.record_metrics("02", {"m": np.float32(2.5)})
    assert run.load_table("t.csv", "01").shape == (2, 2)
    assert run.load_arrays("a.npz", "01")["x"].tolist() == [0, 1, 2]
    assert run.metrics() == {"01": {"n": 1}, "02": {"m": 2.5}}
    manifest = run.manifest()
    assert manifest["config_key"] == make_config(profile="t").key()
    assert {"packages", "git_commit", "config"} <= set(manifest)


def test_other_parameters_are_refused_with_the_difference():
    open_run(make_config(profile="t", epochs=5))
    with pytest.raises(RunFolderError, match=r"other parameters \(epochs: 5 -> 6\)"):
        open_run(make_config(profile="t", epochs=6))
    open_run(make_config(profile="t", epochs=5, workers=1))  # runtime parameters do not matter


def test_a_parameter_added_since_the_run_is_accepted_at_its_default_only():
    from paperlib.core.files import write_json

    run = open_run(make_config(profile="t", epochs=5))
    manifest = run.manifest()
    del manifest["config"]["source"]  # as written before the code had `source`
    manifest["config_key"] = "older"
    write_json(run.file("manifest.json"), manifest)
    with pytest.raises(RunFolderError, match=r"source: 'audio' -> 'images'"):
        open_run(make_config(profile="t", epochs=5, dataset="gtzan", data_dir="x", source="images"))
    with pytest.raises(RunFolderError, match="epochs"):
        open_run(make_config(profile="t", epochs=6))
    assert open_run(make_config(profile="t", epochs=5)).manifest()["config_key"] == \
        make_config(profile="t", epochs=5).key()


def test_other_data_is_refused(tmp_path):
    run = open_run(make_config(profile="t"))
    run.bind_dataset("a" * 64, tmp_path)
    run.bind_dataset("a" * 64, tmp_path)
    with pytest.raises(RunFolderError, match="made from other data"):
        run.bind_dataset("b" * 64, tmp_path)


def test_missing_artifacts_name_the_notebook_to_run():
    run = open_run(make_config(profile="t"))
    with pytest.raises(RunFolderError, match="run notebook 03_cv_training first"):
        run.load_arrays("oof_attention.npz", "03_cv_training")
    with pytest.raises(RunFolderError, match="run notebook 01_data first"):
        open_run(make_config(profile="never"), create=False)
