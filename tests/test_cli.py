from paperlib.cli import main, parse_assignments


def test_assignments_are_yaml_values():
    assert parse_assignments(["epochs=3", "data_dir=~/g", "pooling=mean"]) == {
        "epochs": 3, "data_dir": "~/g", "pooling": "mean"}


def test_unknown_profile_exits_2_with_a_message(capsys):
    assert main(["reproduce", "--profile", "nope"]) == 2
    assert "Unknown profile 'nope'" in capsys.readouterr().err


def test_unknown_parameter_exits_2(capsys):
    assert main(["reproduce", "--profile", "smoke", "--set", "epoks=2"]) == 2
    assert "Unknown parameter" in capsys.readouterr().err


def test_bad_assignment_exits_2(capsys):
    assert main(["reproduce", "--set", "epochs"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_unknown_notebook_exits_2(capsys):
    assert main(["reproduce", "--profile", "smoke", "--notebooks", "99_nope"]) == 2
    assert "Unknown notebook" in capsys.readouterr().err


def test_train_runs_only_the_named_folds_and_refuses_unknown_ones(tmp_path, capsys):
    from paperlib.core.config import load_profile
    from paperlib.model.training import FINAL, fold_dir, load_fold
    from paperlib.core.run_folder import open_run

    sets = ["--set", f"run_dir={tmp_path / 'run'}", "--set", "clips_per_genre=6", "--set", "folds=2",
            "--set", "epochs=1", "--set", "early_stopping_start=1", "--set", "attention_warmup=0"]
    assert main(["train", "--profile", "smoke", *sets, "--folds", "1"]) == 0
    assert "reuses every finished fold" in capsys.readouterr().out
    config = load_profile("smoke", run_dir=str(tmp_path / "run"), clips_per_genre=6, folds=2,
                          epochs=1, early_stopping_start=1, attention_warmup=0)
    run = open_run(config)
    assert load_fold(run, "attention", 1) is not None
    assert load_fold(run, "attention", 0) is None and load_fold(run, "attention", FINAL) is None
    assert not fold_dir(run, "attention", 0).exists()
    assert main(["train", "--profile", "smoke", *sets, "--folds", "5"]) == 2
    assert "No fold(s) [5]" in capsys.readouterr().err


def test_paper_profile_is_gtzan_with_every_clip():
    from paperlib.core.config import load_profile

    config = load_profile("paper")
    assert (config.dataset, config.folds, config.epochs, config.ablation) == ("gtzan", 6, 50, True)
    assert config.data_path().name == "gtzan"
