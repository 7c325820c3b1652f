"""The training program: models trained together end where they would alone, and an interrupted
program resumes to the same numbers as an uninterrupted one."""

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

from tests.factories import toy_clips

import paperlib.model.program as program
from paperlib.core.config import Config
from paperlib.data.features import cut_tokens
from paperlib.model.program import Checkpoint, ModelSpec, ModelState, early_stopping, train_together


def tiny_problem():
    """24 toy clips of 3 classes (a bright square in the class's token) and 3 models."""
    images, labels, config = toy_clips(epochs=4, early_stopping_start=1,
                                       early_stopping_patience=1, attention_warmup=1)
    every = np.arange(24)
    specs = [ModelSpec("attention", 0, 0, every[::2][:9], every[::2][9:], every[1::2], config.seed),
             ModelSpec("attention", 1, 0, every[1::2][:9], every[1::2][9:], every[::2], config.seed),
             ModelSpec("mean", 0, 0, every[::2][:9], every[::2][9:], every[1::2], config.seed)]
    return cut_tokens(images, config), labels, config, specs


@pytest.fixture(scope="module")
def problem():
    return tiny_problem()


@pytest.fixture(scope="module")
def whole(problem, tmp_path_factory):
    """The three models trained together, uninterrupted."""
    tokens, labels, config, specs = problem
    path = tmp_path_factory.mktemp("whole") / "checkpoint.npz"
    trained = train_together(specs, tokens, labels, config, path, progress=False)
    assert path.exists()  # kept: the caller deletes it once the models are stored
    return trained, path


@contextmanager
def killed_after_writes(monkeypatch, writes: int):
    """The program in the block is killed (KeyboardInterrupt) right after its checkpoint's
    `writes`-th write; the checkpoint writes normally again after the block."""
    write, done = Checkpoint.write, []

    def write_then_die(self, states, fingerprints):
        write(self, states, fingerprints)
        done.append(1)
        if len(done) == writes:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoint, "write", write_then_die)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        monkeypatch.setattr(Checkpoint, "write", write)


def _same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].history == b[key].history and a[key].best_epoch == b[key].best_epoch
        for name in a[key].outputs:
            assert np.array_equal(a[key].outputs[name], b[key].outputs[name]), (key, name)


@pytest.mark.slow
def test_an_interrupted_program_resumes_to_the_uninterrupted_numbers(problem, whole, tmp_path,
                                                                     monkeypatch):
    tokens, labels, config, specs = problem
    whole, _ = whole
    with killed_after_writes(monkeypatch, 2):  # killed after its second epoch
        train_together(specs, tokens, labels, config, tmp_path / "b.npz", progress=False)
    saved = Checkpoint(tmp_path / "b.npz").read(_fingerprints(specs, config))
    assert {s.epochs_done for s in saved.values()} == {2}
    resumed = train_together(specs, tokens, labels, config, tmp_path / "b.npz", progress=False)
    _same(whole, resumed)


def _fingerprints(specs, config):
    return {s.key: program.model_fingerprint(s, config, 24) for s in specs}


@pytest.mark.slow
def test_a_program_killed_after_training_gives_its_models_without_training_again(problem, whole,
                                                                                 monkeypatch):
    tokens, labels, config, specs = problem
    whole, path = whole
    monkeypatch.setattr(program.Worker, "train_epoch", None)  # any training would fail
    _same(whole, train_together(specs, tokens, labels, config, path, progress=False))


@pytest.mark.slow
def test_a_model_trained_alone_ends_where_it_ends_in_company(problem, whole, tmp_path):
    tokens, labels, config, specs = problem
    whole, _ = whole
    alone = train_together(specs[1:2], tokens, labels, config, tmp_path / "b.npz", progress=False)
    _same({specs[1].key: whole[specs[1].key]}, alone)


@pytest.mark.slow
def test_a_checkpoint_continues_only_the_models_it_matches(problem, tmp_path):
    tokens, labels, config, specs = problem
    checkpoint = Checkpoint(tmp_path / "c.npz")
    fingerprints = _fingerprints(specs, config)
    checkpoint.write({s.key: ModelState([np.ones(2)], [np.zeros(1)], epochs_done=3) for s in specs},
                     fingerprints)
    assert checkpoint.read(fingerprints)[specs[0].key].epochs_done == 3
    assert set(checkpoint.read({k: fingerprints[k] for k in list(fingerprints)[:2]})) == {
        specs[0].key, specs[1].key}  # the models still to train continue, whatever else was saved
    assert checkpoint.read(_fingerprints(specs, config.replace(seed=1))) == {}
    (tmp_path / "c.npz").write_bytes(b"half a file")
    with pytest.warns(UserWarning, match="could not be read"):
        assert checkpoint.read(fingerprints) == {}


def _stopping(losses, start, patience):
    config = Config(early_stopping_start=start, early_stopping_patience=patience, early_stopping_monitor="val_loss")
    state = ModelState([], [])
    for epoch, loss in enumerate(losses, 1):
        state.history.append({"val_loss": loss, "val_accuracy": 0.5})
        state.epochs_done = epoch
        early_stopping(state, [np.array([epoch])], config)
        if state.stopped:
            break
    return state


def test_early_stopping_watches_from_its_start_and_keeps_the_best_epoch():
    state = _stopping([0.1, 0.9, 0.8, 0.85, 0.7, 0.75, 0.76, 0.74], start=1, patience=2)
    # epoch 1 (loss 0.1) is before the start; the best watched is epoch 5; two worse -> stop at 7
    assert (state.best_epoch, state.epochs_done, state.stopped) == (5, 7, True)
    assert state.best_weights[0][0] == 5
    state = _stopping([0.5, 0.4, 0.3], start=0, patience=5)
    assert (state.best_epoch, state.stopped) == (3, False)
    assert _stopping([0.5, 0.4], start=5, patience=1).best_weights is None  # never watched


JAX_TRAINING = """
import json, tempfile
from pathlib import Path
import keras
from paperlib.model.program import train_together
from tests.test_program import tiny_problem
tokens, labels, config, specs = tiny_problem()
with tempfile.TemporaryDirectory() as folder:
    trained = train_together(specs, tokens, labels, config, Path(folder) / "c.npz", progress=False)
print(json.dumps({"backend": keras.backend.backend(),
                  "epochs": [len(t.history) for t in trained.values()],
                  "attention_sums": [float(abs(t.outputs["attention"].sum(1) - 1).max())
                                     for t in trained.values()]}))
"""


@pytest.mark.slow
def test_the_same_program_trains_on_the_jax_backend():
    """The GPU path runs Keras on JAX: the same code, here on JAX's CPU build."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", JAX_TRAINING], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "KERAS_BACKEND": "jax",
                                          "JAX_PLATFORMS": "cpu"}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    assert all(1 <= epochs <= 4 for epochs in out["epochs"])
    assert max(out["attention_sums"]) < 1e-5


@pytest.mark.slow
def test_a_stuck_model_starts_again_from_another_seed(problem, whole, tmp_path):
    tokens, labels, config, specs = problem
    whole, _ = whole
    strict = config.replace(restart_below=1.0, restarts=1)  # val accuracy 1: never reached
    trained = train_together(specs[:1], tokens, labels, strict, tmp_path / "c.npz", progress=False)
    model = trained[specs[0].key]
    assert model.restarts == 1 and len(model.history) <= config.epochs
    assert not np.array_equal(model.outputs["genre"], whole[specs[0].key].outputs["genre"])


def test_is_stuck_only_when_finished_under_the_bar_with_restarts_left():
    config = Config(restart_below=0.8, restarts=1)
    state = ModelState([], [], history=[{"val_accuracy": 0.6}] * 3, epochs_done=3, stopped=True)
    assert program.is_stuck(state, config)
    assert not program.is_stuck(state, config.replace(restart_below=0.5))
    state.stopped = False
    assert not program.is_stuck(state, config)
    state.stopped, state.restarts = True, 1
    assert not program.is_stuck(state, config)
