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
