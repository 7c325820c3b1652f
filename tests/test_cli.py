import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperlib.cli import main
from paperlib.core.overrides import parse_sets


def test_assignments_are_yaml_values():
    assert parse_sets(["epochs=3", "data_dir=~/g", "pooling=mean"]) == {
        "epochs": 3, "data_dir": "~/g", "pooling": "mean"}
    assert parse_sets(["conv_filters=8,16,32"]) == {"conv_filters": "8,16,32"}  # one value: Config splits it
    for bad in ("epochs", "=3", "epochs=", "x=[1,"):
        with pytest.raises(ValueError, match="--set"):
            parse_sets([bad])
    with pytest.raises(ValueError, match="given twice"):
        parse_sets(["epochs=3", "epochs=4"])


@given(name=st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
       values=st.lists(st.one_of(st.integers(-10**6, 10**6), st.booleans(),
                                 st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)),
                       min_size=1, max_size=4, unique_by=lambda v: (type(v), v)))
def test_a_sweeps_values_and_a_runs_value_come_back_as_given(name, values):
    from hypothesis import assume

    text = ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
    assume(all(str(v) not in ("null", "yes", "no", "on", "off", "y", "n", "true", "false")
               for v in values if isinstance(v, str)))
    assert parse_sets([f"{name}={text}"], several=True) == {name: values}
    assert parse_sets([f"{name}={text.split(',')[0]}"]) == {name: values[0]}


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


@pytest.mark.slow
def test_train_trains_every_model_of_the_run(tmp_path, capsys):
    from paperlib.core.config import load_profile
    from paperlib.core.registry import FINAL
    from paperlib.core.run_folder import open_run
    from paperlib.model.store import load_fold

    sets = ["--set", f"run_dir={tmp_path / 'run'}", "--set", "clips_per_genre=6", "--set", "folds=2",
            "--set", "epochs=1", "--set", "early_stopping_start=1", "--set", "attention_warmup=0",
            "--set", "ablation=true"]
    assert main(["train", "--profile", "smoke", *sets]) == 0
    assert "reuses them" in capsys.readouterr().out
    config = load_profile("smoke", run_dir=str(tmp_path / "run"), clips_per_genre=6, folds=2,
                          epochs=1, early_stopping_start=1, attention_warmup=0, ablation=True)
    run = open_run(config)
    for pooling, fold in [("attention", 0), ("attention", 1), ("attention", FINAL), ("mean", 0),
                          ("mean", 1)]:
        assert load_fold(run, pooling, fold) is not None
    assert not run.has("training_checkpoint")
    assert main(["train", "--profile", "smoke", *sets]) == 0
    assert "fold 2/2: complete, reused" in capsys.readouterr().out


def test_paper_profile_is_gtzan_with_every_clip():
    from paperlib.core.config import load_profile

    config = load_profile("paper")
    assert (config.dataset, config.folds, config.epochs, config.ablation) == ("gtzan", 6, 50, True)
    assert config.data_path().name == "gtzan"


def test_params_lists_every_parameter_with_default_help_and_the_profiles_value(capsys):
    import re

    from paperlib.core.config import Config

    assert main(["params", "--profile", "smoke", "--set", "learning_rate=1e-3"]) == 0
    header, dashes, *lines = capsys.readouterr().out.splitlines()
    spans = [m.span() for m in re.finditer(r"-+", dashes)]  # the columns, from the dashed line

    def cells(line: str) -> list[str]:
        return [line[a:b if i < len(spans) - 1 else None].strip() for i, (a, b) in enumerate(spans)]

    assert cells(header) == ["parameter", "type", "default", "in smoke", "help"]
    rows = {row[0]: row for row in map(cells, lines)}
    assert list(rows) == list(Config.model_fields)
    for name, field in Config.model_fields.items():
        assert rows[name][4] == field.description, name
    assert rows["epochs"][1:4] == ["int >= 1", "50", "20"]  # smoke's value beside the default
    assert rows["learning_rate"][2:4] == ["0.003", "0.001"]  # an override counts too
    assert rows["seed"][2:4] == ["42", ""]  # the default: left blank
    assert rows["conv_filters"][2] == "8,16,32" and rows["dataset"][1] == "synthetic|gtzan"
    assert rows["data_dir"][2] == "null" and rows["ablation"][2] == "false"


def test_params_refuses_bad_values_naming_them(capsys):
    assert main(["params", "--set", "learning_rate=fast", "--set", "folds=1"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate='fast'" in err and "expected a number (float)" in err and "folds=1" in err


def test_params_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["params", "--help"])
    assert "one row per parameter" in capsys.readouterr().out


@pytest.mark.slow
def test_python_dash_m_paperlib_is_the_paperlib_command(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    commands = {"module": [sys.executable, "-m", "paperlib"],
                "script": [str(Path(sys.executable).parent / "paperlib")]}
    outputs = {name: subprocess.run([*command, "params", "--profile", "smoke"], capture_output=True,
                                    text=True, timeout=120, cwd=tmp_path)
               for name, command in commands.items()}
    assert all(o.returncode == 0 for o in outputs.values()), outputs
    assert outputs["module"].stdout == outputs["script"].stdout and "clips_per_genre" in outputs["module"].stdout
    # a process that imports the main module again (Dask's and joblib's spawned workers) runs nothing
    imported = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_module('paperlib', "
                               "run_name='__mp_main__'); print('imported')"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert imported.returncode == 0 and imported.stdout.strip() == "imported", imported.stderr
