import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.factories import toy_clips, toy_prepared

from paperlib.core.registry import FINAL, MODEL_FILES, model_file
from paperlib.core.run_folder import git_commit, open_run
from paperlib.data.folds import TRAIN_ONLY, VALIDATION, assign_folds, held_out_rows, inner_split
from paperlib.model.cross_validation import cross_validate, out_of_fold
from paperlib.model.network import KERAS_MEMBERS, OUTPUTS
from paperlib.model.store import final_attempts_dir, fold_dir, in_sample_accuracy, load_fold


def test_folds_are_stratified_and_deterministic():
    labels = np.repeat(np.arange(10), 25)
    folds = assign_folds(labels, folds=6, seed=1)
    assert np.array_equal(folds, assign_folds(labels, folds=6, seed=1))
    assert not np.array_equal(folds, assign_folds(labels, folds=6, seed=2))
    for k in range(6):
        per_genre = np.bincount(labels[folds == k], minlength=10)
        assert per_genre.min() >= 4 and per_genre.max() <= 5


def test_too_few_clips_for_the_folds():
    with pytest.raises(ValueError, match="needs at least 6 clips of every genre"):
        assign_folds(np.array([0, 0, 0, 1, 1, 1]), folds=6, seed=0)


def test_inner_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(4), 10)
    fit, val = inner_split(np.arange(40), labels, fraction=0.2, seed=0)
    assert len(val) == 8 and not set(fit) & set(val)
    assert np.bincount(labels[val]).tolist() == [2, 2, 2, 2]


@pytest.fixture
def tiny():
    """A toy problem on 4 s 'clips' of 45 frames: the class is the token where a bright square sits."""
    return toy_clips(epochs=3, early_stopping_start=0)


@pytest.mark.slow
def test_cross_validation_saves_and_resumes(tiny, capsys):
    images, labels, config = tiny
    run = open_run(config)
    cv = cross_validate(images, labels, config, run, progress=False)["attention"]
    results = cv.folds
    oof = out_of_fold(results, assign_folds(labels, folds=config.folds, seed=config.seed))
    assert oof["genre"].shape == (24, 3) and set(oof["fold"]) == {0, 1}
    assert np.allclose(oof["attention"].sum(1), 1, atol=1e-5)
    for k in (0, 1, FINAL):
        assert {p.name for p in fold_dir(run, "attention", k).iterdir()} == {
            *(file for file, _ in MODEL_FILES.values())}
    assert len(cv.final.held_out) == 24 and cv.final.all_signatures.shape == (24, 32)
    assert run.load_json("model_done", pooling="attention", fold=0)["git_commit"] == git_commit()
    assert run.load_json("model_done", pooling="attention", fold=FINAL)["git_commit"] == git_commit()
    assert results[0].all_signatures.shape == (24, 32)

    # a complete fold is reused; a fold without its done marker is trained again
    model_file(fold_dir(run, "attention", 1), "model_done").unlink()
    capsys.readouterr()
    again = cross_validate(images, labels, config, run, progress=False)["attention"]
    printed = capsys.readouterr().out
    assert "fold 1/2: complete, reused" in printed and "fold 2/2: accuracy" in printed
    assert "final model: complete, reused" in printed
    assert np.array_equal(again.folds[0].outputs["genre"], results[0].outputs["genre"])
    # trained alone now, together with the other models before: the same model to the last bit
    assert np.array_equal(again.folds[1].outputs["genre"], results[1].outputs["genre"])
    assert model_file(fold_dir(run, "attention", 1), "model_done").is_file()


@pytest.mark.slow
def test_training_is_deterministic_from_the_seed(tiny, tmp_path):
    images, labels, config = tiny
    a, b = (cross_validate(images, labels, config.replace(run_dir=str(tmp_path / name)),
                           open_run(config.replace(run_dir=str(tmp_path / name))),
                           progress=False)["attention"] for name in "ab")
    assert np.array_equal(a.folds[0].outputs["genre"], b.folds[0].outputs["genre"])


@pytest.mark.slow
def test_a_fixed_split_trains_on_train_stops_on_valid_and_tests_on_test(tiny):
    """The published fault-filtered split as a clip-fold array: one test fold, fixed validation."""
    images, labels, config = tiny
    config = config.replace(dataset="gtzan", data_dir="x", split="fault-filtered")
    clip_folds = np.tile([0, VALIDATION, TRAIN_ONLY, TRAIN_ONLY], len(labels) // 4)
    run = open_run(config)
    cv = cross_validate(images, labels, config, run, progress=False, folds=clip_folds)["attention"]
    assert len(cv.folds) == 1
    done = run.load_json("model_done", pooling="attention", fold=0)
    assert (done["fit_clips"], done["validation_clips"], done["held_out_clips"]) == (12, 6, 6)
    final = run.load_json("model_done", pooling="attention", fold=FINAL)
    assert (final["fit_clips"], final["validation_clips"]) == (18, 6)
    # in-sample: on the 18 clips it may train on, not the validation clips
    assert cv.final.accuracy == final["accuracy"] == in_sample_accuracy(
        cv.final.outputs["genre"], labels, clip_folds)
    oof = out_of_fold(cv.folds, clip_folds)
    assert held_out_rows(oof["fold"]).sum() == 6
    assert (oof["fold"] == clip_folds).all() and not oof["genre"][clip_folds < 0].any()


@pytest.fixture
def fake_training(tiny, monkeypatch):
    """cross_validate with a stand-in for the training program that writes a loadable folder with
    a chosen accuracy: scores[fold], or scores[(FINAL, attempt)]; (config, calls, scores)."""
    import paperlib.model.cross_validation as cross_validation
    import paperlib.model.store as training

    images, labels, config = tiny
    calls, scores = [], {}

    def fake_train(specs, images, labels, folds, config, run, *, progress=True):
        return [fake_model(spec.fold, spec.attempt, run, config) for spec in specs]

    def fake_model(fold, attempt, run, config):
        calls.append((fold, attempt))
        accuracy = scores[fold] if fold != FINAL else scores[(FINAL, attempt)]
        folder = training.model_dir(run, config.pooling, fold, attempt)
        folder.mkdir(parents=True, exist_ok=True)
        outputs = {name: np.zeros((2, 1)) for name in OUTPUTS}
        np.savez(model_file(folder, "model_outputs"), held_out=np.arange(2), all_signatures=np.zeros((24, 2)),
                 **outputs)
        pd.DataFrame({"epoch": [1]}).to_csv(model_file(folder, "history"), index=False)
        with zipfile.ZipFile(model_file(folder, "model"), "w") as archive:  # a stand-in model file
            for member in KERAS_MEMBERS:
                archive.writestr(member, "{}")
        model_file(folder, "model_done").write_text(json.dumps(
            {"attempt": attempt, "accuracy": accuracy, "seconds": 0.0, "best_epoch": 1,
             "restarts": 0}))
        return training.FoldResult(fold, np.arange(2), outputs, np.zeros((24, 2)),
                                   pd.DataFrame(), accuracy, 0.0, 1, 0)

    monkeypatch.setattr(cross_validation, "_train", fake_train)
    return config, calls, scores


def _kept_attempt(run):
    assert not final_attempts_dir(run, "attention").exists()  # the other attempts are deleted
    return json.loads(model_file(fold_dir(run, "attention", FINAL), "model_done").read_text())["attempt"]


def test_a_final_model_behind_the_folds_is_trained_again_and_the_best_kept(tiny, fake_training, tmp_path):
    images, labels, _ = tiny
    config, calls, scores = fake_training
    scores.update({0: 0.9, 1: 0.8, (FINAL, 0): 0.6, (FINAL, 1): 0.8, (FINAL, 2): 0.7})
    run = open_run(config)
    cv = cross_validate(images, labels, config, run, progress=False)["attention"]
    assert calls == [(0, 0), (1, 0), (FINAL, 0), (FINAL, 1), (FINAL, 2)]
    # all three fit worse than the folds' mean 0.85 held out: the best, not the last, is kept
    assert cv.final.accuracy == 0.8 and _kept_attempt(run) == 1
    assert load_fold(run, "attention", FINAL).accuracy == 0.8

    scores.update({(FINAL, 0): 0.86})
    calls.clear()
    other = open_run(config.replace(run_dir=str(tmp_path / "other")))
    cv = cross_validate(images, labels, config, other, progress=False)
    assert calls == [(0, 0), (1, 0), (FINAL, 0)] and _kept_attempt(other) == 0


def test_an_interrupted_final_model_leaves_no_final_folder_and_resumes_its_attempts(tiny, fake_training):
    images, labels, _ = tiny
    config, calls, scores = fake_training
    scores.update({0: 0.9, 1: 0.8, (FINAL, 0): 0.6})  # no score for attempt 1: "interrupted"
    run = open_run(config)
    with pytest.raises(KeyError):
        cross_validate(images, labels, config, run, progress=False)
    assert not fold_dir(run, "attention", FINAL).exists()
    assert load_fold(run, "attention", FINAL, attempt=0).accuracy == 0.6
    scores.update({(FINAL, 1): 0.7, (FINAL, 2): 0.5})
    calls.clear()
    cv = cross_validate(images, labels, config, run, progress=False)["attention"]
    assert calls == [(FINAL, 1), (FINAL, 2)] and cv.final.accuracy == 0.7
    assert _kept_attempt(run) == 1


def runs_trained_together_match_runs_trained_alone(tmp_path, **params):
    """Two runs (seeds 1 and 2) trained in one program, then each run's step 03: every model is
    reused, and equals the model of the same run trained alone."""
    from paperlib.model.cross_validation import train_runs_together

    together = [toy_prepared(tmp_path / f"together-{seed}", seed=seed, epochs=2, **params) for seed in (1, 2)]
    assert train_runs_together(together, tmp_path / "checkpoint.npz", progress=False) == 6
    assert not (tmp_path / "checkpoint.npz").exists()
    for prepared in together:
        config = prepared.run.config
        alone = toy_prepared(tmp_path / f"alone-{config.seed}", seed=config.seed, epochs=2, **params)
        reused = cross_validate(prepared.images, prepared.labels, config, prepared.run, progress=False)
        fresh = cross_validate(alone.images, alone.labels, config.replace(run_dir=str(alone.run.path)),
                               alone.run, progress=False)
        for a, b in zip([*reused["attention"].folds, reused["attention"].final],
                        [*fresh["attention"].folds, fresh["attention"].final], strict=True):
            assert np.array_equal(a.outputs["genre"], b.outputs["genre"])
            assert a.history.equals(b.history)
    assert train_runs_together(together, tmp_path / "checkpoint.npz", progress=False) == 0


@pytest.mark.slow
def test_runs_trained_together_end_as_runs_trained_alone(tmp_path, capsys):
    runs_trained_together_match_runs_trained_alone(tmp_path)


def test_only_runs_that_differ_in_their_seed_train_together(tmp_path):
    from paperlib.model.cross_validation import train_runs_together

    runs = [toy_prepared(tmp_path / "a", seed=1), toy_prepared(tmp_path / "b", seed=2, epochs=9)]
    with pytest.raises(ValueError, match=r"seed alone.*\['epochs'\]"):
        train_runs_together(runs, tmp_path / "checkpoint.npz", progress=False)


def test_runs_with_one_seed_do_not_train_together(tmp_path):
    from paperlib.model.cross_validation import train_runs_together

    runs = [toy_prepared(tmp_path / "a", seed=3), toy_prepared(tmp_path / "b", seed=3)]
    with pytest.raises(ValueError, match=r"once per seed.*\[3, 3\]"):
        train_runs_together(runs, tmp_path / "checkpoint.npz", progress=False)
