"""Occlusion, integrated gradients and deletion curves on models whose right answer is known."""

import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.model.attribution import TokenAttribution, gradient_function, neutral_tokens
from paperlib.model.network import build_model, token_cnn_and_head

N_TOKENS, MELS, FRAMES, LOOKED_AT = 6, 4, 3, 3


def token_three_model(n_classes: int = 3):
    """A model that only looks at token 3: the token CNN flattens the pixels, the head classifies
    token 3's pixels alone with a fixed linear layer."""
    import keras
    from keras import layers

    cnn = keras.Sequential([layers.Input((MELS, FRAMES)), layers.Flatten()])
    embeddings = layers.Input((N_TOKENS, MELS * FRAMES))
    only = layers.Cropping1D((LOOKED_AT, N_TOKENS - LOOKED_AT - 1))(embeddings)
    dense = layers.Dense(n_classes, activation="softmax")
    probs = dense(layers.Flatten()(only))
    head = keras.Model(embeddings, probs)
    weights = np.random.default_rng(1).normal(size=(MELS * FRAMES, n_classes)).astype("float32") * 3
    dense.set_weights([weights, np.zeros(n_classes, dtype="float32")])
    tokens = layers.Input((N_TOKENS, MELS, FRAMES))
    model = keras.Model(tokens, head(layers.TimeDistributed(cnn)(tokens)))
    return cnn, head, model


@pytest.fixture(scope="module")
def looked_at():
    tokens = np.random.default_rng(0).random((8, N_TOKENS, MELS, FRAMES), dtype=np.float32)
    cnn, head, model = token_three_model()
    return TokenAttribution(cnn, head, model, tokens)


def test_the_head_on_the_token_cnn_is_the_model():
    config = Config(n_mels=24, token_frames=9, n_tokens=5)
    model = build_model(config, n_classes=4)
    tokens = np.random.default_rng(0).random((3, 5, 24, 9), dtype=np.float32)
    cnn, head = token_cnn_and_head(model)
    embeddings = cnn.predict(tokens.reshape(15, 24, 9), verbose=0).reshape(3, 5, -1)
    np.testing.assert_allclose(head.predict(embeddings, verbose=0), model.predict(tokens, verbose=0),
                               atol=1e-6)


def test_occlusion_and_gradients_peak_at_the_only_token_looked_at(looked_at):
    occlusion = looked_at.occlusion()
    gradients = looked_at.integrated_gradients(steps=4)
    assert occlusion.shape == gradients.shape == (8, N_TOKENS)
    others = np.delete(np.arange(N_TOKENS), LOOKED_AT)
    assert np.abs(occlusion[:, others]).max() < 1e-6 and np.abs(gradients[:, others]).max() < 1e-6
    assert (np.abs(occlusion[:, LOOKED_AT]) > 1e-3).all()
    # the only token that matters takes the whole change from the neutral clip to the clip
    neutral_probs = looked_at.head_probs(np.repeat(looked_at.neutral[:, None], N_TOKENS, axis=1))
    rows = np.arange(8)
    change = looked_at.probs[rows, looked_at.target] - neutral_probs[rows, looked_at.target]
    np.testing.assert_allclose(occlusion[:, LOOKED_AT], change, atol=1e-5)
    np.testing.assert_allclose(gradients[:, LOOKED_AT], change, atol=0.05)  # a 4-point integral


def test_occlusion_drops_the_predicted_genre_by_the_replacement():
    tokens = np.random.default_rng(3).random((5, N_TOKENS, MELS, FRAMES), dtype=np.float32)
    cnn, head, model = token_three_model()
    account = TokenAttribution(cnn, head, model, tokens)
    edited = tokens.copy()
    edited[:, LOOKED_AT] = neutral_tokens(tokens)
    after = model.predict(edited, verbose=0)[np.arange(5), account.target]
    np.testing.assert_allclose(account.occlusion()[:, LOOKED_AT],
                               account.probs[np.arange(5), account.target] - after, atol=1e-6)


def target_curve(account: TokenAttribution, order: np.ndarray) -> np.ndarray:
    """(clips, n_tokens + 1): the predicted genre's probability as the tokens of `order` go."""
    return np.take_along_axis(account.deletion(order), account.target[:, None, None], axis=2)[..., 0]


def test_a_perfect_ranking_falls_fastest(looked_at):
    rest = np.delete(np.arange(N_TOKENS), LOOKED_AT)
    perfect = target_curve(looked_at, np.tile(np.r_[LOOKED_AT, rest], (8, 1)))
    worst = target_curve(looked_at, np.tile(np.r_[rest, LOOKED_AT], (8, 1)))
    np.testing.assert_allclose(perfect[:, 0], worst[:, 0])  # nothing removed yet
    np.testing.assert_allclose(perfect[:, 1:], perfect[:, -1:].repeat(N_TOKENS, axis=1), atol=1e-6)
    np.testing.assert_allclose(worst[:, :-1], worst[:, :1].repeat(N_TOKENS, axis=1), atol=1e-6)
    assert perfect.mean() < worst.mean()


def test_deletion_refuses_an_order_that_is_not_a_permutation(looked_at):
    with pytest.raises(ValueError, match="one permutation"):
        looked_at.deletion(np.zeros((8, N_TOKENS), dtype=int))


def test_gradients_agree_with_finite_differences():
    cnn, head, model = token_three_model()
    point = np.random.default_rng(5).random((2, N_TOKENS, MELS, FRAMES), dtype=np.float32)
    targets = np.array([0, 2])
    grad = gradient_function(model)(point, targets)
    eps = 1e-2
    for index in [(0, LOOKED_AT, 1, 2), (1, LOOKED_AT, 3, 0), (1, 0, 0, 0)]:
        up, down = point.copy(), point.copy()
        up[index] += eps
        down[index] -= eps
        row = index[0]
        numeric = (model.predict(up, verbose=0)[row, targets[row]]
                   - model.predict(down, verbose=0)[row, targets[row]]) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, abs=1e-3)


def test_several_orders_at_once_give_each_order_its_own_curve(looked_at):
    rng = np.random.default_rng(2)
    orders = np.argsort(rng.random((3, 8, N_TOKENS)), axis=2)
    together = looked_at.deletion(orders)
    assert together.shape == (3, 8, N_TOKENS + 1, 3)
    for k in range(3):
        np.testing.assert_allclose(together[k], looked_at.deletion(orders[k]), atol=1e-6)
