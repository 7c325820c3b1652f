"""The `vector` trainer (every model in one compiled step, Keras on JAX): it trains each model as
the `one` trainer does, resumes to the uninterrupted numbers, and a model ends where it ends in
company. The trainer needs Keras on JAX, which is fixed per process: under another backend,
`test_the_vector_trainer_under_jax` runs this file again in a process on JAX (CPU), so the GPU
path's code is tested on every machine."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.test_program import _same, killed_after_writes, tiny_problem

ON_JAX = os.environ.get("KERAS_BACKEND") == "jax"
jax_only = pytest.mark.skipif(not ON_JAX, reason="runs in the JAX process of "
                                                 "test_the_vector_trainer_under_jax")


@pytest.mark.slow
def test_the_vector_trainer_under_jax():
    if ON_JAX:
        pytest.skip("this process is the JAX one")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "-W", "ignore::DeprecationWarning", "tests/test_vectorised.py"], cwd=root, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout) and not re.search(r"\d+ (failed|error)", done.stdout)


def test_the_vector_trainer_refuses_another_backend_and_says_what_to_do():
    if ON_JAX:
        pytest.skip("Keras runs on JAX here")
    from paperlib.model.vectorised import needs_jax

    with pytest.raises(RuntimeError, match="KERAS_BACKEND=jax.*trainer=one"):
        needs_jax()


@pytest.mark.parametrize("mask", [(3, 0, 0.0), (0, 4, 0.0), (2, 3, 0.4)])
def test_augmentation_applies_the_same_on_the_device_as_on_the_host(mask):
    """One home for augmentation: the draws are made on the host, numpy and jax.numpy apply them
    to the same numbers (jax.numpy imports under any Keras backend)."""
    import jax.numpy as jnp

    from paperlib.core.config import Config
    from paperlib.model.recipe import apply_augmentation, augmentation_draws

    time_mask, freq_mask, mixup = mask
    config = Config(time_mask=time_mask, freq_mask=freq_mask, mixup=mixup)
    rng = np.random.default_rng(5)
    tokens = rng.random((6, 4, 12, 9)).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)[np.arange(6) % 3]
    draws = augmentation_draws(tokens.shape, config, np.random.default_rng(1))
    host = apply_augmentation(tokens, targets, draws)
    device = apply_augmentation(jnp.asarray(tokens), jnp.asarray(targets),
                                {k: jnp.asarray(v) for k, v in draws.items()}, jnp)
    for a, b in zip(host, device, strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-7)
    assert not np.array_equal(host[0], tokens)


@pytest.fixture(scope="module")
def problem():
    tokens, labels, config, specs = tiny_problem()
    return tokens, labels, config.replace(trainer="vector"), specs


@pytest.fixture(scope="module")
def whole(problem, tmp_path_factory):
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    path = tmp_path_factory.mktemp("whole") / "checkpoint.npz"
    trained = train_stacked(specs, tokens, labels, config, path, progress=False)
    assert path.exists()  # kept: the caller deletes it once the models are stored
    return trained, path


@jax_only
@pytest.mark.parametrize("recipe", [{}, {"time_mask": 2, "freq_mask": 3, "mixup": 0.3, "label_smoothing": 0.1}])
def test_each_model_trains_as_the_one_trainer_trains_it(problem, tmp_path, recipe):
    """The same batches (9 fit clips in batches of 8: the second filled with zero-weight clips),
    augmentation draws, learning rates, warm-up, frozen scores of mean pooling, early stopping and
    kept epoch: the two trainers differ only in the order of floating-point sums."""
    from paperlib.model.program import train_together
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    config = config.replace(**recipe)
    one = train_together(specs, tokens, labels, config.replace(trainer="one"), tmp_path / "a.npz",
                         progress=False)
    vector = train_stacked(specs, tokens, labels, config, tmp_path / "b.npz", progress=False)
    for key in one:
        assert one[key].best_epoch == vector[key].best_epoch
        for a, b in zip(one[key].history, vector[key].history, strict=True):
            assert a.keys() == b.keys()
            np.testing.assert_allclose([a[k] for k in a], [b[k] for k in a], rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(one[key].outputs["genre"], vector[key].outputs["genre"], atol=1e-4)
        for w1, w2 in zip(one[key].weights, vector[key].weights, strict=True):
            np.testing.assert_allclose(w1, w2, rtol=1e-3, atol=1e-4)
    attention = vector[specs[2].key].outputs["attention"]
    assert np.allclose(attention, 1 / attention.shape[1])  # mean pooling: uniform weights


@jax_only
def test_models_keep_their_outputs_shapes_and_weights_that_rebuild_the_network(problem, whole):
    from paperlib.model.network import build_model, explain

    tokens, labels, config, specs = problem
    trained, _ = whole
    for spec in specs:
        model = trained[spec.key]
        assert 1 <= len(model.history) <= config.epochs and 1 <= model.best_epoch <= len(model.history)
        assert model.outputs["genre"].shape == (len(labels), 3)
        np.testing.assert_allclose(model.outputs["attention"].sum(1), 1, atol=1e-5)
        network = build_model(config.replace(pooling=spec.pooling), 3)
        network.set_weights(model.weights)  # the kept weights, in the network's own order
        again = explain(network, tokens)
        np.testing.assert_allclose(again["genre"], model.outputs["genre"], atol=1e-5)


@jax_only
@pytest.mark.parametrize("mapping", ["map", "vmap"])
def test_an_interrupted_program_resumes_to_the_uninterrupted_numbers(problem, tmp_path, monkeypatch,
                                                                     mapping):
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    whole = train_stacked(specs, tokens, labels, config, tmp_path / "a.npz", progress=False,
                          mapping=mapping)
    with killed_after_writes(monkeypatch, 2):  # killed after its second epoch
        train_stacked(specs, tokens, labels, config, tmp_path / "b.npz", progress=False,
                      checkpoint_seconds=0, mapping=mapping)
    resumed = train_stacked(specs, tokens, labels, config, tmp_path / "b.npz", progress=False,
                            checkpoint_seconds=0, mapping=mapping)
    _same(whole, resumed)


@jax_only
def test_a_program_killed_after_training_gives_its_models_without_training_again(problem, whole,
                                                                                 monkeypatch):
    from paperlib.model import vectorised

    tokens, labels, config, specs = problem
    trained, path = whole
    monkeypatch.setattr(vectorised, "_plan", None)  # any training would fail
    _same(trained, vectorised.train_stacked(specs, tokens, labels, config, path, progress=False))


@jax_only
@pytest.mark.parametrize("mapping", ["map", "vmap"])
def test_a_model_trained_alone_ends_where_it_ends_in_company(problem, tmp_path, mapping):
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    company = train_stacked(specs, tokens, labels, config, tmp_path / "a.npz", progress=False,
                            mapping=mapping)
    alone = train_stacked(specs[1:2], tokens, labels, config, tmp_path / "b.npz", progress=False,
                          mapping=mapping)
    _same({specs[1].key: company[specs[1].key]}, alone)


@jax_only
def test_a_model_ends_alike_in_eight_slots_and_in_sixteen(problem, tmp_path):
    """Nine models take sixteen slots, one takes eight: under `vmap` (a GPU's way) XLA may order
    a batched sum differently for another slot count, so the model's numbers agree to rounding
    (the same best epoch), not to the bit; the same slot count gives the same bits (above)."""
    from dataclasses import replace

    from paperlib.model.vectorised import SLOT_STEP, slot_count, train_stacked

    tokens, labels, config, specs = problem
    crowd = [replace(specs[i % 2], run=f"r{i}") for i in range(SLOT_STEP + 1)]
    assert (slot_count(len(crowd)), slot_count(1)) == (2 * SLOT_STEP, SLOT_STEP)
    company = train_stacked(crowd, tokens, labels, config, tmp_path / "a.npz", progress=False,
                            mapping="vmap")
    alone = train_stacked(crowd[-1:], tokens, labels, config, tmp_path / "b.npz", progress=False,
                          mapping="vmap")[crowd[-1].key]
    crowded = company[crowd[-1].key]
    assert crowded.best_epoch == alone.best_epoch
    for row, lone in zip(crowded.history, alone.history, strict=True):
        np.testing.assert_allclose(list(row.values()), list(lone.values()), rtol=1e-5)
    np.testing.assert_allclose(crowded.outputs["genre"], alone.outputs["genre"], atol=1e-5)


@jax_only
def test_the_slots_on_a_gpu_and_on_a_cpu_train_alike(problem, whole, tmp_path):
    """`vmap` (a GPU's way) and `map` (a CPU's) compute each model with the same operations."""
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    trained, _ = whole
    wide = train_stacked(specs, tokens, labels, config, tmp_path / "a.npz", progress=False,
                         mapping="vmap")
    for key, model in trained.items():
        assert model.best_epoch == wide[key].best_epoch
        np.testing.assert_allclose(model.outputs["genre"], wide[key].outputs["genre"], atol=1e-4)


@jax_only
def test_a_stuck_model_starts_again_from_another_seed_and_the_others_do_not_notice(problem, whole,
                                                                                    tmp_path):
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    trained, _ = whole
    strict = config.replace(restart_below=1.0, restarts=1)  # val accuracy 1: never reached
    again = train_stacked(specs[:2], tokens, labels, strict, tmp_path / "c.npz", progress=False)
    model = again[specs[0].key]
    assert model.restarts == 1 and len(model.history) <= config.epochs
    assert not np.array_equal(model.outputs["genre"], trained[specs[0].key].outputs["genre"])
    alone = train_stacked(specs[1:2], tokens, labels, strict, tmp_path / "d.npz", progress=False)
    # every model restarts under `strict`; each restart is its own: the neighbour ends as it does
    # alone, whatever the first model's restart does in the same program
    assert again[specs[1].key].restarts == alone[specs[1].key].restarts == 1
    _same({specs[1].key: again[specs[1].key]}, alone)


@jax_only
def test_augmentation_trains_every_model_from_its_own_stream(problem, tmp_path):
    from paperlib.model.vectorised import train_stacked

    tokens, labels, config, specs = problem
    augmented = config.replace(time_mask=2, freq_mask=3, mixup=0.3, label_smoothing=0.1)
    first = train_stacked(specs, tokens, labels, augmented, tmp_path / "a.npz", progress=False)
    again = train_stacked(specs, tokens, labels, augmented, tmp_path / "b.npz", progress=False)
    _same(first, again)
    for model in first.values():
        assert all(np.isfinite(row["loss"]) for row in model.history)


@jax_only
def test_runs_trained_together_in_one_program_end_as_runs_trained_alone(tmp_path):
    """A sweep's members in one program (here two tiny runs of 3 models each): each
    run's models equal those of its lone run, to the last bit."""
    from tests.test_training import runs_trained_together_match_runs_trained_alone

    runs_trained_together_match_runs_trained_alone(tmp_path, trainer="vector")
