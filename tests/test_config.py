import json

import pytest

from paperlib.core.config import (
    Config,
    available_profiles,
    known_parameters,
    load_profile,
    recorded_params,
)


def test_defaults_are_the_papers_geometry():
    config = Config()
    assert (config.n_mels, config.token_frames, config.n_tokens, config.folds) == (217, 45, 10, 6)
    assert config.n_frames == 335


def test_profiles_exist_and_load():
    assert {"smoke", "default"} <= set(available_profiles())
    smoke = load_profile("smoke")
    assert smoke.profile == "smoke" and smoke.dataset == "synthetic"


def test_unknown_parameter_names_it_and_lists_known_ones():
    with pytest.raises(ValueError, match=r"Unknown parameter\(s\) \['epoks'\].*epochs"):
        load_profile("smoke", epoks=3)


def test_unknown_profile_lists_available_ones():
    with pytest.raises(ValueError, match="Unknown profile 'nope'.*smoke"):
        load_profile("nope")


@pytest.mark.parametrize("params, needle", [
    ({"dataset": "fma"}, "dataset='fma'"),
    ({"folds": 1}, "folds=1"),
    ({"pooling": "max"}, "pooling='max'"),
    ({"dataset": "gtzan"}, "data_dir"),
    ({"folds": 6, "clips_per_genre": 3}, "clips_per_genre=3"),
])
def test_invalid_values_say_what_was_expected(params, needle):
    with pytest.raises(ValueError, match="expected") as info:
        Config(**params)
    assert needle in str(info.value)


def test_key_ignores_runtime_and_location_parameters_only():
    base = Config()
    assert base.key() == Config(workers=1, profile="other", run_dir="runs/x").key()
    assert base.key() == Config(metadata_url="file:///mirror").key()
    gtzan = Config(dataset="gtzan", data_dir="/a/gtzan")
    assert gtzan.key() == gtzan.replace(data_dir="/b/gtzan").key()
    assert "data_dir" not in gtzan.result_params() and "metadata_url" not in gtzan.result_params()
    assert base.key() != Config(epochs=base.epochs + 1).key()


def test_overrides_from_strings_and_none():
    config = load_profile("smoke", epochs="3", seed=None)
    assert config.epochs == 3 and config.seed == Config().seed


def test_relative_paths_are_taken_from_the_project_root(monkeypatch, tmp_path):
    from paperlib.core import paths

    monkeypatch.chdir(tmp_path)
    config = Config(run_dir="runs/x", dataset="gtzan", data_dir="data/g")
    assert config.run_path() == paths.project_root() / "runs" / "x"
    assert config.data_path() == paths.project_root() / "data" / "g"
    assert Config(run_dir="/abs/r").run_path().as_posix() == "/abs/r"


@pytest.mark.parametrize("name, given, coerced", [
    ("learning_rate", "3e-3", 0.003),  # YAML 1.1 reads 3e-3 as a string
    ("validation_fraction", "1e-1", 0.1),
    ("conv_filters", "8,16,32", (8, 16, 32)),
    ("conv_filters", [4, 8, 16], (4, 8, 16)),
    ("ablation", "true", True),
    ("epochs", "12", 12),
    ("clip_seconds", 20, 20.0),
])
def test_values_are_coerced_to_the_declared_type(name, given, coerced):
    value = getattr(Config(**{name: given}), name)
    assert value == coerced and type(value) is type(coerced)


def test_set_values_from_the_command_line_are_coerced():
    from paperlib.core.overrides import parse_sets

    sets = ["learning_rate=3e-3", "validation_fraction=1e-1", "conv_filters=8,16,32",
            "ablation=true", "epochs=12"]
    config = load_profile("smoke", **parse_sets(sets))
    assert (config.learning_rate, config.validation_fraction, config.conv_filters, config.ablation,
            config.epochs) == (0.003, 0.1, (8, 16, 32), True, 12)


@pytest.mark.parametrize("params, message", [
    ({"learning_rate": "fast"}, "Parameter learning_rate='fast' is invalid: expected a number (float)."),
    ({"epochs": "many"}, "Parameter epochs='many' is invalid: expected an integer (int)."),
    ({"ablation": "maybe"}, "Parameter ablation='maybe' is invalid: expected true or false (bool)."),
    ({"conv_filters": "8,x,32"}, "Parameter conv_filters='8,x,32' is invalid: expected three positive "
                                 "integers"),
    ({"token_pooling": "min"}, "Parameter token_pooling='min' is invalid: expected one of "
                               "('average', 'max')."),
    ({"folds": 1}, "Parameter folds=1 is invalid: expected an integer (int) >= 2."),
    ({"validation_fraction": 0.5}, "Parameter validation_fraction=0.5 is invalid: expected a number "
                                   "(float) > 0 and < 0.5."),
    ({"epochs": 0}, "Parameter epochs=0 is invalid: expected an integer (int) >= 1."),
    ({"split": "artist"}, "Parameter split='artist' is invalid: expected 'random' for the synthetic "
                          "dataset"),
])
def test_each_kind_of_error_names_parameter_value_and_expectation(params, message):
    with pytest.raises(ValueError) as info:
        Config(**params)
    assert type(info.value) is ValueError  # not pydantic's ValidationError
    assert str(info.value).startswith(message)


def test_several_bad_parameters_are_named_together():
    with pytest.raises(ValueError) as info:
        load_profile("smoke", learning_rate="fast", folds=1, pooling="max")
    lines = str(info.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("Parameter ") for line in lines)
    for needle in ("learning_rate='fast'", "folds=1", "pooling='max'"):
        assert needle in str(info.value)
    with pytest.raises(ValueError, match=r"(?s)split='artist'.*source='images'"):
        Config(split="artist", source="images")  # the cross-field checks, both at once


def test_unknown_parameter_is_refused_by_config_too():
    with pytest.raises(ValueError, match=r"Unknown parameter\(s\) \['verbose'\]"):
        Config(verbose=1)  # dropped: it changed nothing


def test_a_config_is_immutable_hashable_and_replace_revalidates():
    config = Config()
    with pytest.raises(AttributeError):
        config.epochs = 3
    assert hash(config) == hash(Config()) and config == Config()
    assert config.replace(epochs="7").epochs == 7 and config.epochs == 50
    with pytest.raises(ValueError, match="Parameter folds=1 is invalid"):
        config.replace(folds=1)
    with pytest.raises(ValueError, match="Unknown parameter"):
        config.replace(epoks=1)


def test_to_dict_is_json_and_rebuilds_the_config():
    config = Config(conv_filters=(4, 8, 16))
    data = config.to_dict()
    assert data["conv_filters"] == [4, 8, 16] and json.loads(json.dumps(data)) == data
    assert set(data) == set(known_parameters()) and Config(**data) == config


def test_every_parameter_has_a_help_line():
    for name, field in Config.model_fields.items():
        assert field.description and "\n" not in field.description, name


def test_recorded_params_of_an_older_manifest_equal_todays():
    now = Config(dataset="gtzan", data_dir="/x").result_params()
    older = {**now, "data_dir": "/elsewhere", "metadata_url": None}
    del older["source"]  # written before the code had `source`
    assert recorded_params(older) == now


def test_a_manifest_older_than_a_parameter_reads_as_the_code_then_behaved():
    older = Config().result_params()
    del older["attention_mix"]  # written before the scores could read a scaled self-attention
    assert recorded_params(older)["attention_mix"] == 1.0 != Config().attention_mix


def test_a_run_folder_reopens_with_another_data_dir(tmp_path):
    from paperlib.core.run_folder import RunFolderError, open_existing_run, open_run

    config = Config(dataset="gtzan", data_dir=str(tmp_path / "a"), run_dir=str(tmp_path / "run"))
    run = open_run(config)
    run.bind_dataset("f" * 64, tmp_path / "a" / "genres")
    moved = open_run(config.replace(data_dir=str(tmp_path / "b")))  # the same data, moved
    assert moved.manifest()["config_key"] == config.key()
    assert "data_dir" not in moved.manifest()["config"]
    assert open_existing_run(tmp_path / "run").config.data_dir == str(tmp_path / "a" / "genres")
    with pytest.raises(RunFolderError, match="other parameters"):
        open_run(config.replace(data_dir=str(tmp_path / "b"), epochs=3))


def test_a_gtzan_run_folder_reopens_from_where_its_data_was_found(tmp_path):
    from paperlib.core.run_folder import RunFolderError, open_existing_run, open_run

    config = Config(dataset="gtzan", data_dir=str(tmp_path / "a"), run_dir=str(tmp_path / "run"))
    run = open_run(config)
    with pytest.raises(RunFolderError, match="no dataset yet: run notebook 01_data first"):
        open_existing_run(run.path)
    run.bind_dataset("f" * 64, tmp_path / "a" / "genres")
    assert open_existing_run(run.path).config.data_dir == str(tmp_path / "a" / "genres")
    assert open_run(config.replace(data_dir=str(tmp_path / "b"))).manifest()["config_key"] == config.key()
