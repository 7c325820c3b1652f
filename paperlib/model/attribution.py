"""How much each of a clip's tokens matters to one model, by two accounts besides its attention
weights: occlusion and integrated gradients; and deletion curves, which test any such ranking.

The neutral token is the clip's mean token (its 10 tokens averaged pixel by pixel). Replacing a
token with it keeps the clip's overall spectrum and loudness and removes only what happens *in
that stretch of time*; an all-black token would be a loud silence the model never saw in training.
The same neutral token serves all three uses (occlusion, the gradients' baseline, deletion). They
ask different questions: occlusion removes one token and keeps the others; integrated gradients
share out the change from the all-neutral clip to the clip among its tokens. The two agree only
for a model that adds up its tokens' contributions.

The token CNN sees every token alone, so replacing a token changes that token's embedding only:
occlusion and deletion run the CNN once per token (and once for the neutral token) and then only
the small head (attention and classifier) on edited embeddings.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from paperlib.model.network import token_cnn_and_head

BATCH = 64


def neutral_tokens(tokens: np.ndarray) -> np.ndarray:
    """Each clip's neutral token, (clips, mels, frames): the mean of its tokens."""
    return np.asarray(tokens, dtype=np.float32).mean(axis=1)


def _check_tokens(tokens: np.ndarray) -> np.ndarray:
    tokens = np.asarray(tokens, dtype=np.float32)
    if tokens.ndim != 4 or min(tokens.shape) < 1:
        raise ValueError(f"Expected tokens of shape (clips, n_tokens, mels, frames), got {tokens.shape}.")
    return tokens


class TokenAttribution:
    """A model's accounts of its clips' tokens. `cnn` maps one token to its embedding, `head` a
    clip's token embeddings to genre probabilities, and `model` is the two together (tokens ->
    probabilities, for the gradients); the clips' embeddings are computed once."""

    def __init__(self, cnn, head, model, tokens: np.ndarray):
        self.cnn, self.head, self.model = cnn, head, model
        self.tokens = _check_tokens(tokens)
        clips, n_tokens = self.tokens.shape[:2]
        flat = self.tokens.reshape(clips * n_tokens, *self.tokens.shape[2:])
        self.embeddings = self._embed(flat).reshape(clips, n_tokens, -1)
        self.neutral = self._embed(neutral_tokens(self.tokens))
        self.probs = self.head_probs(self.embeddings)
        self.target = self.probs.argmax(axis=1)  # every account explains the predicted genre

    @classmethod
    def of_model(cls, model, tokens: np.ndarray) -> "TokenAttribution":
        """For a model of `paperlib.model.network.build_model`."""
        cnn, head = token_cnn_and_head(model)
        return cls(cnn, head, model, tokens)

    def _embed(self, tokens: np.ndarray) -> np.ndarray:
        return np.asarray(self.cnn.predict(tokens, batch_size=BATCH * 10, verbose=0))

    def head_probs(self, embeddings: np.ndarray) -> np.ndarray:
        """Genre probabilities from token embeddings (clips, n_tokens, dim)."""
        return np.asarray(self.head.predict(embeddings, batch_size=BATCH * 10, verbose=0))

    def _target_prob(self, probs: np.ndarray) -> np.ndarray:
        return probs[np.arange(len(probs)), self.target]

    def occlusion(self) -> np.ndarray:
        """(clips, n_tokens): the drop of the predicted genre's probability when one token is
        replaced by the neutral token (positive: the token supported the prediction)."""
        clips, n_tokens, _ = self.embeddings.shape
        edited = np.repeat(self.embeddings[:, None], n_tokens, axis=1)  # (clips, token replaced, ...)
        edited[:, np.arange(n_tokens), np.arange(n_tokens)] = self.neutral[:, None]
        probs = self.head_probs(edited.reshape(clips * n_tokens, n_tokens, -1)).reshape(clips, n_tokens, -1)
        occluded = np.take_along_axis(probs, self.target[:, None, None], axis=2)[..., 0]
        return self._target_prob(self.probs)[:, None] - occluded

    def deletion(self, order: np.ndarray) -> np.ndarray:
        """(clips, n_tokens + 1, genres): the probabilities after replacing the first k tokens of
        each clip's `order` (most important first) by the neutral token, k = 0 .. n_tokens.
        Several orders at once: `order` (orders, clips, n_tokens) -> (orders, clips, ...)."""
        order = np.asarray(order)
        clips, n_tokens, _ = self.embeddings.shape
        if (order.shape[-2:] != (clips, n_tokens) or order.ndim not in (2, 3)
                or not (np.sort(order, axis=-1) == np.arange(n_tokens)).all()):
            raise ValueError(f"Expected one permutation of the {n_tokens} tokens per clip, shape "
                             f"({clips}, {n_tokens}) or (orders, {clips}, {n_tokens}), got shape {order.shape}.")
        orders = order.reshape(-1, clips, n_tokens)
        removed = np.zeros((len(orders), clips, n_tokens + 1, n_tokens), dtype=bool)
        for k in range(1, n_tokens + 1):
            removed[:, :, k] = removed[:, :, k - 1]
            np.put_along_axis(removed[:, :, k], orders[:, :, k - 1:k], True, axis=-1)
        edited = np.where(removed[..., None], self.neutral[None, :, None, None], self.embeddings[None, :, None])
        probs = self.head_probs(edited.reshape(-1, n_tokens, edited.shape[-1]))
        return probs.reshape(*order.shape[:-1], n_tokens + 1, -1)

    def integrated_gradients(self, steps: int = 8) -> np.ndarray:
        """(clips, n_tokens): integrated gradients of the predicted genre's probability from the
        neutral clip (every token neutral) to the clip, summed over each token's pixels (midpoint
        rule with `steps` points). Their sum over tokens approximates the probability's change."""
        if steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps}.")
        baseline = np.broadcast_to(neutral_tokens(self.tokens)[:, None], self.tokens.shape)
        delta = self.tokens - baseline
        total = np.zeros(self.tokens.shape[:2], dtype=np.float64)
        gradients = gradient_function(self.model)
        for alpha in (np.arange(steps) + 0.5) / steps:
            for start in range(0, len(self.tokens), BATCH):
                rows = slice(start, start + BATCH)
                point = baseline[rows] + np.float32(alpha) * delta[rows]
                grad = gradients(point, self.target[rows])
                total[rows] += (grad * delta[rows]).sum(axis=(2, 3))
        return total / steps


def gradient_function(model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A compiled function (inputs, targets) -> d probability[target] / d inputs, row by row, made
    with the Keras backend's own autodiff (TensorFlow's tape in a tf.function; jax.grad under jit)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)

        @tf.function(input_signature=[spec, tf.TensorSpec((None,), tf.int32)])
        def gradients(x, targets):
            with tf.GradientTape() as tape:
                tape.watch(x)
                picked = tf.gather(model(x, training=False), targets, axis=1, batch_dims=1)
            return tape.gradient(picked, x)

        return lambda x, t: gradients(tf.constant(x, tf.float32), tf.constant(t, tf.int32)).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def picked(x, targets):
            probs = model(x, training=False)
            return jnp.take_along_axis(probs, targets[:, None], axis=1).sum()

        compiled = jax.jit(jax.grad(picked))
        return lambda x, t: np.asarray(compiled(jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.int32)))
    raise NotImplementedError(f"Gradients are implemented for the tensorflow and jax backends, "
                              f"not {backend!r}; set KERAS_BACKEND=tensorflow or jax.")

