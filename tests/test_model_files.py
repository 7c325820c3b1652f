"""A saved model that cannot serve (truncated, not a zip, no Keras 3 model, another Keras version's,
another run's) is named as what it is, with what to do, by every reader: `paperlib similar`, the
notebooks' loads (`network.load_model`) and the training's reuse (`store.load_fold`)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperlib.cli import main
from paperlib.core.registry import FINAL
from paperlib.model.network import KERAS_MEMBERS, ModelFileError, build_model, load_model, save_model
from tests.conftest import write_tone
from tests.test_similar import build_run, tiny_config

BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KINDS = ("truncated", "garbage", "hdf5", "foreign zip", "other keras")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder `similar` can read, and its intact final model's bytes."""
    path = build_run(tmp_path_factory.mktemp("model-files") / "run")
    return path


def final_model(run_dir):
    from paperlib.core.run_folder import open_existing_run

    return open_existing_run(run_dir).path_of("model", pooling="attention", fold=FINAL)


def rezipped(good: bytes, change: dict[str, bytes | None]) -> bytes:
    """`good`'s archive with members replaced (bytes) or left out (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if change.get(name, b"") is not None:
                target.writestr(name, change.get(name) or source.read(name))
    return out.getvalue()


@st.composite
def damaged(draw, good: bytes) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    if kind == "truncated":
        return kind, good[:draw(st.integers(0, len(good) - 1))]
    if kind == "garbage":
        return kind, draw(st.binary(max_size=4000).filter(lambda b: not b.startswith(b"PK")))
    if kind == "hdf5":
        return kind, b"\x89HDF\r\n\x1a\n" + draw(st.binary(max_size=200))
    if kind == "foreign zip":
        left_out = draw(st.sets(st.sampled_from(sorted(KERAS_MEMBERS)), min_size=1))
        return kind, rezipped(good, dict.fromkeys(left_out))
    version = draw(st.sampled_from(["2.15.0", "4.0.0"]))
    config = draw(st.sampled_from([b"{}", b"[]", b'{"class_name": "Sequential"}',
                                   b'{"class_name": "NoSuchLayer", "config": {}}']))
    metadata = json.dumps({"keras_version": version, "date_saved": "2026-01-01@00:00:00"}).encode()
    return kind, rezipped(good, {"config.json": config, "metadata.json": metadata})


EXPECTED = {"truncated": "is damaged", "garbage": "is damaged", "hdf5": "is an HDF5 file",
            "foreign zip": "is not a Keras 3 model", "other keras": "cannot be loaded by this Keras (saved by Keras"}


@BOUNDED
@given(data=st.data())
def test_every_damaged_model_file_is_named_with_what_to_do(run_dir, data):
    path = final_model(run_dir)
    good = path.read_bytes()
    kind, bad = data.draw(damaged(good))
    try:
        path.write_bytes(bad)
        with pytest.raises(ModelFileError) as refused:
            load_model(path)
    finally:
        path.write_bytes(good)
    message = str(refused.value)
    assert EXPECTED[kind] in message, (kind, message)
    assert str(path) in message and "paperlib train --profile tiny" in message
    assert "File not found" not in message


def test_another_runs_model_is_named_as_such(run_dir, tmp_path):
    path = final_model(run_dir)
    good = path.read_bytes()
    other = tiny_config(tmp_path).replace(n_mels=16)
    try:
        save_model(build_model(other, n_classes=10), path)
        with pytest.raises(ModelFileError, match=r"is another run's model: it reads tokens of shape \(10, 16"):
            load_model(path, tokens_shape=(10, 217, 45))
    finally:
        path.write_bytes(good)


def test_a_same_shape_model_of_another_run_is_named_as_such(tmp_path):
    """A model file that loads and fits this run's tokens, but is not the file the run wrote there
    (its digest, recorded in done.json when it was saved, differs): named by the notebooks' loads
    and trained again by the training's reuse."""
    from paperlib.core.files import sha256_of, write_json
    from paperlib.core.run_folder import open_run
    from paperlib.model.store import fold_dir, load_fold

    config = tiny_config(tmp_path / "run")
    run = open_run(config)
    folder = fold_dir(run, "attention", 0)
    folder.mkdir(parents=True)
    path = folder / "model.keras"
    save_model(build_model(config, n_classes=10), path)
    write_json(folder / "done.json", {"model_sha256": sha256_of(path)})
    assert load_model(path, tokens_shape=(config.n_tokens, config.n_mels, config.token_frames))
    save_model(build_model(config.replace(seed=config.seed + 1), n_classes=10), path)  # another run's
    with pytest.raises(ModelFileError, match="is not the file this run wrote.*paperlib train"):
        load_model(path, tokens_shape=(config.n_tokens, config.n_mels, config.token_frames))
    with pytest.warns(UserWarning, match="is not the file this run wrote.*trained again"):
        assert load_fold(run, "attention", 0) is None


def test_similar_names_a_truncated_model_without_a_traceback(run_dir, tmp_path, capsys):
    path = final_model(run_dir)
    good = path.read_bytes()
    clip = write_tone(tmp_path / "clip.wav", seconds=6)
    try:
        path.write_bytes(good[:len(good) // 2])
        assert main(["similar", str(clip), "--run", str(run_dir)]) == 2
    finally:
        path.write_bytes(good)
    err = capsys.readouterr().err
    assert err.startswith(f"error: The saved model {path} is damaged") and "paperlib train" in err
    assert "Traceback" not in err and "File not found" not in err


def test_the_training_trains_a_damaged_model_again(tmp_path):
    from paperlib.core.run_folder import open_run
    from paperlib.model.store import fold_dir, load_fold

    run = open_run(tiny_config(tmp_path / "run"))
    folder = fold_dir(run, "attention", 0)
    folder.mkdir(parents=True)
    (folder / "done.json").write_text("{}")
    (folder / "model.keras").write_bytes(b"PK\x03\x04 cut short")
    with pytest.warns(UserWarning, match="model.keras is damaged.*trained again"):
        assert load_fold(run, "attention", 0) is None
