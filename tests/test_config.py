import pytest

from paperlib.core.config import Config, available_profiles, load_profile, make_config


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
        make_config(**params)
    assert needle in str(info.value)


def test_key_ignores_runtime_parameters_only():
    base = make_config()
    assert base.key() == make_config(workers=1, verbose=0, profile="other").key()
    assert base.key() != make_config(epochs=base.epochs + 1).key()


def test_overrides_from_strings_and_none():
    config = load_profile("smoke", epochs="3", seed=None)
    assert config.epochs == 3 and config.seed == Config().seed


def test_relative_paths_are_taken_from_the_project_root(monkeypatch, tmp_path):
    from paperlib.core import paths

    monkeypatch.chdir(tmp_path)
    config = make_config(run_dir="runs/x", dataset="gtzan", data_dir="data/g")
    assert config.run_path() == paths.project_root() / "runs" / "x"
    assert config.data_path() == paths.project_root() / "data" / "g"
    assert make_config(run_dir="/abs/r").run_path().as_posix() == "/abs/r"
