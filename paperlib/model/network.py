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

import json
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlib.core.config import Config
from paperlib.core.files import atomic_path, sha256_of
from paperlib.core.registry import model_file
from paperlib.core.run_folder import RunFolderError

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


class ModelFileError(RunFolderError):
    """A saved model that cannot serve: damaged, not a Keras 3 model, or another run's."""


KERAS_MEMBERS = frozenset({"config.json", "metadata.json", "model.weights.h5"})


def model_file_problem(path: str | Path) -> str | None:
    """What is wrong with a `.keras` file, judged from the archive alone (cheap), or None."""
    path = Path(path)
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x89HDF"):
        return "is an HDF5 file (a Keras 2 `.h5` model), not a Keras 3 `.keras` model"
    if not zipfile.is_zipfile(path):
        return f"is damaged: not a complete `.keras` archive ({size} bytes; truncated or overwritten)"
    try:
        with zipfile.ZipFile(path) as archive:
            names, broken = set(archive.namelist()), archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error,
            NotImplementedError) as exc:
        return f"is damaged: its archive cannot be read ({type(exc).__name__}: {exc})"
    if broken is not None:
        return f"is damaged: its member {broken} fails its checksum"
    if not KERAS_MEMBERS <= names:
        return (f"is not a Keras 3 model: a zip archive without {', '.join(sorted(KERAS_MEMBERS - names))} "
                "(another program's file?)")
    return None


def changed_since_written(path: str | Path) -> str | None:
    """In a run's model folder, whether the model file is the one written there: its SHA-256
    against the one `done.json` recorded (`store.write_model`); None when it matches or nothing
    was recorded (another file, or a folder from before the digest was recorded)."""
    path = Path(path)
    if path.name != model_file(path.parent, "model").name:
        return None
    try:
        recorded = json.loads(model_file(path.parent, "model_done").read_text()).get("model_sha256")
    except (OSError, ValueError, AttributeError):
        return None
    if recorded is None or sha256_of(path) == recorded:
        return None
    return ("is not the file this run wrote: its SHA-256 differs from the one recorded beside it when "
            "the model was saved (another run's model copied in, or changed since)")


def saved_keras_version(path: Path) -> str | None:
    """The Keras version that wrote a `.keras` archive (its metadata.json), when it says."""
    try:
        with zipfile.ZipFile(path) as archive:
            return str(json.loads(archive.read("metadata.json")).get("keras_version")) or None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, AttributeError, zlib.error):
        return None


def retrain_advice(path: Path) -> str:
    """What to do about a run's unusable model file: train it again (a damaged model is trained
    anew by `paperlib train`, see `store.load_fold`)."""
    run = next((p for p in path.parents if (p / "manifest.json").is_file()), None)
    if run is None:
        return "Save the model again."
    try:
        profile = json.loads((run / "manifest.json").read_text()).get("profile", "default")
    except (OSError, ValueError, AttributeError):
        profile = "default"
    return (f"Train it again: `paperlib train --profile {profile} --set run_dir={run}` (a damaged "
            "model is trained anew; the others are reused), or run notebook 03_cv_training.")


def load_model(path: str | Path, *, tokens_shape: tuple[int, ...] | None = None):
    """A saved model, or ModelFileError naming what the file is (damaged, not a Keras 3 model,
    unreadable by this Keras, or another run's: `tokens_shape` is what this run's model reads, and
    a file of the same shape is checked against the digest its run recorded) and what to do."""
    import keras

    path = Path(path)
    problem, model = model_file_problem(path), None
    if problem is None:
        try:
            model = keras.models.load_model(path, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - Keras raises anything for a foreign file
            saved = saved_keras_version(path)
            other = (f" (saved by Keras {saved}; this environment has Keras {keras.__version__})"
                     if saved != keras.__version__ else "")
            reason = " ".join(str(exc).split())[:200]
            problem = f"cannot be loaded by this Keras{other}: {type(exc).__name__}: {reason}"
    if model is not None and tokens_shape is not None and tuple(model.input_shape[1:]) != tuple(tokens_shape):
        problem = (f"is another run's model: it reads tokens of shape {tuple(model.input_shape[1:])}, "
                   f"this run's are {tuple(tokens_shape)}")
    problem = problem or changed_since_written(path)
    if problem is not None:
        raise ModelFileError(f"The saved model {path} {problem}. {retrain_advice(path)}")
    return model


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
