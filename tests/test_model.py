import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.model.network import (
    build_model,
    explain,
    load_model,
    parameter_counts,
    roundtrip_difference,
)

SMALL = dict(n_mels=24, token_frames=9, n_tokens=5)


@pytest.fixture(scope="module")
def tokens():
    return np.random.default_rng(0).random((3, 5, 24, 9), dtype=np.float32)


def test_outputs_shapes_and_attention(tokens):
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(Config(**SMALL), n_classes=4)
    out = explain(model, tokens)
    assert out["genre"].shape == (3, 4) and np.allclose(out["genre"].sum(1), 1, atol=1e-5)
    assert out["attention"].shape == (3, 5) and np.allclose(out["attention"].sum(1), 1, atol=1e-5)
    assert out["token_embeddings"].shape == (3, 5, 32) and out["signature"].shape == (3, 32)
    weighted = np.einsum("bt,btd->bd", out["attention"], out["token_embeddings"])
    assert np.allclose(out["signature"], weighted, atol=1e-5)
    assert not np.allclose(out["attention"], 0.2)  # learned scores start non-uniform


def test_mean_pooling_has_uniform_frozen_weights(tokens):
    model = build_model(Config(pooling="mean", **SMALL), n_classes=4)
    out = explain(model, tokens)
    assert np.allclose(out["attention"], 0.2)
    counts = parameter_counts(model).set_index("layer")
    assert counts.loc["score", "trainable"] == 0 and counts.loc["score", "frozen"] > 0


def test_save_and_reload_is_identical(tokens, tmp_path):
    model = build_model(Config(**SMALL), n_classes=4)
    assert roundtrip_difference(model, tokens, tmp_path / "m.keras") == 0.0
    reloaded = load_model(tmp_path / "m.keras")
    assert reloaded.count_params() == model.count_params()


def test_default_model_is_small():
    model = build_model(Config(), n_classes=10)
    total = parameter_counts(model).iloc[-1]["trainable"]
    assert 5_000 < total < 50_000


@pytest.mark.slow  # over 10 s on a slow 2-core machine
def test_batch_norm_normalises_every_convolution_and_round_trips(tokens, tmp_path):
    from keras import layers

    from paperlib.model.network import token_cnn_and_head

    model = build_model(Config(**SMALL), n_classes=4)  # batch normalisation by default
    cnn = model.get_layer("token_embeddings").layer
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in cnn.layers) == 3
    plain = build_model(Config(batch_norm=False, **SMALL), n_classes=4).get_layer("token_embeddings").layer
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in plain.layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(tokens, np.arange(3), epochs=1, verbose=0)  # moving statistics away from their start
    assert roundtrip_difference(model, tokens, tmp_path / "bn.keras") == 0.0
    token_cnn, head = token_cnn_and_head(model)
    embeddings = np.stack([token_cnn(tokens[:, t]) for t in range(tokens.shape[1])], axis=1)
    assert np.allclose(head(embeddings), model(tokens), atol=1e-5)
