"""The paper's model (section 2.1): a CNN per token, multi-head attention over tokens, a signature.

A small CNN reads each 217 x 45 token through `TimeDistributed`, giving one embedding per token.
Multi-head self-attention (with a residual connection and layer normalisation) lets tokens look at
each other (`attention_mix` scales its share of the residual); a dense layer scores every attended token and a softmax over the tokens turns the
scores into attention weights. The signature is the attention-weighted sum of the token embeddings
(taken before attention, so a weight points at a moment of the clip, not at a mixture); a dense
softmax layer classifies it. `pooling="mean"` replaces the weights with a plain mean (an ablation).

Inside the token CNN the feature maps are averaged (`token_pooling="average"`, the default) rather
than max-pooled: with max pooling a loud short event saturates the whole token's embedding, the
token then only disturbs the genre-family features, and attention learns to look away from it
(measured on the synthetic data: the signature moment was found in under 5% of clips).
Only built-in Keras layers are used, so one `.keras` file saves and reloads the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlib.core.config import Config
from paperlib.core.files import atomic_path

if TYPE_CHECKING:
    import pandas as pd

OUTPUTS = ("genre", "attention", "signature", "token_embeddings")


def build_model(config: Config, n_classes: int):
    """The trainable model: tokens (batch, n_tokens, n_mels, token_frames) -> genre probabilities."""
    import keras
    from keras import layers

    def conv(filters: int, size: int, **options) -> list:
        """A convolution with its ReLU, batch-normalised before the ReLU with `batch_norm`."""
        if not config.batch_norm:
            return [layers.Conv2D(filters, size, padding="same", activation="relu", **options)]
        return [layers.Conv2D(filters, size, padding="same", use_bias=False, **options),
                layers.BatchNormalization(momentum=0.9), layers.ReLU()]

    f1, f2, f3 = config.conv_filters
    cnn = keras.Sequential([
        layers.Input((config.n_mels, config.token_frames)),
        layers.Reshape((config.n_mels, config.token_frames, 1)),
        layers.Rescaling(4.0, offset=-2.0),  # grayscale [0, 1] -> [-2, 2], centred for the convs
        *conv(f1, 5, strides=2),
        layers.MaxPooling2D(2),
        *conv(f2, 3),
        layers.MaxPooling2D(2),
        *conv(f3, 3),
        layers.GlobalAveragePooling2D() if config.token_pooling == "average" else layers.GlobalMaxPooling2D(),
        layers.Dense(config.embedding_dim, activation="relu"),
    ], name="token_cnn")

    tokens = layers.Input((config.n_tokens, config.n_mels, config.token_frames), name="tokens")
    embeddings = layers.TimeDistributed(cnn, name="token_embeddings")(tokens)
    attended = layers.MultiHeadAttention(
        num_heads=config.attention_heads, key_dim=config.attention_key_dim, name="self_attention"
    )(embeddings, embeddings)
    if config.attention_mix != 1.0:
        attended = layers.Rescaling(config.attention_mix, name="attention_mix")(attended)
    attended = layers.LayerNormalization(name="attention_norm")(
        layers.Add(name="attention_residual")([embeddings, attended]))
    learned = config.pooling == "attention"  # else frozen zero scores: uniform weights, a mean
    score = layers.Dense(1, name="score", trainable=learned,
                         kernel_initializer="glorot_uniform" if learned else "zeros")
    scores = layers.Flatten(name="token_scores")(score(attended))
    weights = layers.Softmax(name="attention")(scores)
    signature = layers.Dot(axes=(1, 1), name="signature")([weights, embeddings])
    probs = layers.Dense(n_classes, activation="softmax", name="genre")(signature)
    return keras.Model(tokens, probs, name=f"attention_cnn_{config.pooling}")


def explainer(model):
    """A model with the same weights whose outputs are a dict of OUTPUTS."""
    import keras

    outputs = {name: model.get_layer(name).output for name in OUTPUTS}
    return keras.Model(model.inputs, outputs, name=f"{model.name}_explainer")


def token_cnn_and_head(model):
    """The model in its two parts, sharing its weights: the token CNN (one token -> its embedding)
    and the head (the clip's token embeddings -> genre probabilities: attention, signature,
    classifier). head(cnn(each token)) equals model(tokens): the CNN sees every token alone."""
    import keras

    cnn = model.get_layer("token_embeddings").layer
    embeddings = keras.Input(model.get_layer("token_embeddings").output.shape[1:], name="embeddings")
    attended = model.get_layer("self_attention")(embeddings, embeddings)
    if any(layer.name == "attention_mix" for layer in model.layers):
        attended = model.get_layer("attention_mix")(attended)
    attended = model.get_layer("attention_norm")(model.get_layer("attention_residual")([embeddings, attended]))
    weights = model.get_layer("attention")(model.get_layer("token_scores")(model.get_layer("score")(attended)))
    probs = model.get_layer("genre")(model.get_layer("signature")([weights, embeddings]))
    return cnn, keras.Model(embeddings, probs, name=f"{model.name}_head")


def explain(model, tokens: np.ndarray, *, batch_size: int = 64) -> dict[str, np.ndarray]:
    """For each clip: genre probabilities, 10 attention weights (sum 1), signature, token embeddings."""
    out = explainer(model).predict(tokens, batch_size=batch_size, verbose=0)
    return {name: np.asarray(out[name]) for name in OUTPUTS}


def save_model(model, path: str | Path) -> None:
    with atomic_path(Path(path)) as tmp:
        model.save(tmp)


def load_model(path: str | Path):
    import keras

    return keras.models.load_model(path, safe_mode=True)


def parameter_counts(model) -> "pd.DataFrame":
    """Trainable and frozen parameters of each top-level layer, with a total row."""
    import pandas as pd

    rows = [{"layer": layer.name, "kind": type(layer).__name__,
             "trainable": int(sum(w.numpy().size for w in layer.trainable_weights)),
             "frozen": int(sum(w.numpy().size for w in layer.non_trainable_weights))}
            for layer in model.layers]
    table = pd.DataFrame(rows)
    total = {"layer": "total", "kind": "", "trainable": int(table["trainable"].sum()),
             "frozen": int(table["frozen"].sum())}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def roundtrip_difference(model, tokens: np.ndarray, path: str | Path) -> float:
    """Save, reload and compare every output on `tokens`: the largest absolute difference."""
    save_model(model, path)
    before = explain(model, tokens)
    after = explain(load_model(path), tokens)
    return float(max(np.abs(before[k] - after[k]).max() for k in OUTPUTS))
