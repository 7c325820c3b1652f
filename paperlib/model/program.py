"""One training program for every model of a run, in one process, resumable epoch by epoch.

A run trains many small models of one architecture (the k fold models, the final model, the
mean-pooling ablation's folds). They train together: the tokens of every clip are cut once and held
in memory, each pooling has one compiled Keras model (the *worker*), and each model of the run is
its own state (weights, optimizer variables, early-stopping bookkeeping) that is swapped into the
worker for its epoch. A model's training depends only on its own seed, clips and state, never on
the other models, so it ends where it would alone. After every epoch of all models the states are
written to one atomic checkpoint: an interrupted program resumes from its last completed epoch and
ends with the same numbers as an uninterrupted one (same seed, same machine).

Per model, as in the paper's protocol (section 3.1): batches in a seeded order per epoch, its own
inner validation split, early stopping on `early_stopping_monitor` (the validation accuracy by
default, or the loss) from `early_stopping_start` with `early_stopping_patience`, and the best-epoch
weights kept; attention models start with
`attention_warmup` epochs of uniform attention (see `ModelSpec.warmup`). A model whose validation
accuracy never reached `restart_below` in its whole training (stuck, as a model on the synthetic data
can be at the level of its confusable pairs) is trained again from another seed, `restarts` times at
most, and the last training is kept: a rule that looks only at the model's own validation clips.
Checked at the end, not earlier: many models find the decisive moments only after epoch 30.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.core.files import atomic_path
from paperlib.core.registry import FINAL
from paperlib.core.seeds import generator, integer_seed
from paperlib.model.network import build_model, explainer
from paperlib.model.recipe import (
    augmented_batch,
    compile_for_training,
    learning_rate_at,
)

PREDICT_BATCH = 32


@dataclass(frozen=True)
class ModelSpec:
    """One model of a run: which clips it fits, stops on and predicts, and its seeds."""

    pooling: str
    fold: int  # FINAL for the model trained on every clip
    attempt: int
    fit: np.ndarray  # clip indices it trains on
    validation: np.ndarray  # its early-stopping clips
    held_out: np.ndarray  # the clips it predicts (every clip for FINAL)

    @property
    def key(self) -> str:
        return f"{self.pooling}/{'final' if self.fold == FINAL else self.fold}/{self.attempt}"

    @property
    def label(self) -> str:
        which = "final model" if self.fold == FINAL else f"fold {self.fold + 1}"
        return f"{self.pooling} {which}{f' (attempt {self.attempt + 1})' if self.attempt else ''}"

    def init_seed(self, config: Config, restarts: int = 0) -> int:
        """The weights' seed; the same for both poolings of a fold (a paired ablation)."""
        return integer_seed(config.seed, "weights", self.fold, self.attempt, restarts)

    def batch_order(self, config: Config, epoch: int, restarts: int = 0) -> np.ndarray:
        """Positions in `fit`, in this epoch's order: a function of the seeds and the epoch only,
        so a resumed model sees the batches an uninterrupted one sees."""
        rng = generator(config.seed, "batch_order", self.fold, self.attempt, restarts, epoch)
        return rng.permutation(len(self.fit))

    def warmup(self, config: Config) -> int:
        """Epochs with the attention scores held at zero (uniform weights, a mean).

        Early in training the model learns the genre families from every token; a token that
        looks unusual (such as a signature moment) then only disturbs the family features, and
        attention that is free from the start learns to ignore it before the CNN has learned what
        it means. Starting from uniform weights lets the CNN learn from every token first.
        """
        return config.attention_warmup if self.pooling == "attention" else 0


@dataclass
class ModelState:
    """Everything a model's training has reached: enough to continue it exactly."""

    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float | None = None  # of `early_stopping_monitor` at the best watched epoch
    best_loss: float | None = None  # the validation loss at that epoch
    best_epoch: int | None = None  # 1-based
    best_weights: list[np.ndarray] | None = None
    wait: int = 0
    stopped: bool = False
    seconds: float = 0.0
    restarts: int = 0

    def bookkeeping(self) -> dict:
        return {"epochs_done": self.epochs_done, "history": self.history,
                "best_score": self.best_score, "best_loss": self.best_loss,
                "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped": self.stopped, "seconds": self.seconds, "restarts": self.restarts,
                "has_best": self.best_weights is not None}


@dataclass(frozen=True)
class TrainedModel:
    """A model at the end of its training: best-epoch weights, its history, its outputs."""

    spec: ModelSpec
    weights: list[np.ndarray]  # the kept (best-epoch) weights, for `build_model(...).set_weights`
    history: list[dict[str, float]]
    best_epoch: int
    outputs: dict[str, np.ndarray]  # network.OUTPUTS for every clip
    seconds: float
    restarts: int


class Worker:
    """The compiled Keras model of one pooling, into which each model's state is swapped."""

    def __init__(self, config: Config, n_classes: int):
        import keras

        self.config = config
        self.model = build_model(config, n_classes)
        compile_for_training(self.model, config)
        self.model.optimizer.build(self.model.trainable_variables)
        self.fresh_optimizer = [v.numpy() for v in self.model.optimizer.variables]
        self.explainer = explainer(self.model)
        self.score = self.model.get_layer("score")
        self._keras = keras

    def initial_state(self, seed: int, n_classes: int, *, restarts: int = 0) -> ModelState:
        self._keras.utils.set_random_seed(seed)
        fresh = build_model(self.config, n_classes)
        return ModelState(weights=fresh.get_weights(),
                          optimizer=[v.copy() for v in self.fresh_optimizer], restarts=restarts)

    def load(self, state: ModelState) -> None:
        self.model.set_weights(state.weights)
        for variable, value in zip(self.model.optimizer.variables, state.optimizer, strict=True):
            variable.assign(value)

    def save(self, state: ModelState) -> None:
        state.weights = self.model.get_weights()
        state.optimizer = [v.numpy() for v in self.model.optimizer.variables]

    def train_epoch(self, tokens: np.ndarray, labels: np.ndarray, order: np.ndarray, *,
                    epoch: int, rng: np.random.Generator, uniform_attention: bool) -> dict[str, float]:
        """One pass over `order` (clip indices) in batches at `epoch`'s learning rate, each batch
        augmented with `rng` as the recipe says; the epoch's mean loss and accuracy
        (`train_on_batch` reports each batch alone)."""
        self.model.optimizer.learning_rate = learning_rate_at(self.config, epoch)
        n_classes = self.model.output_shape[-1]
        sums: dict[str, float] = {}
        for start in range(0, len(order), self.config.batch_size):
            take = np.sort(order[start:start + self.config.batch_size])
            batch, targets = augmented_batch(tokens[take], labels[take], n_classes, self.config, rng)
            logs = self.model.train_on_batch(batch, targets, return_dict=True)
            for name, value in logs.items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(take)
            if uniform_attention:
                for weight in self.score.weights:
                    weight.assign(np.zeros(weight.shape, dtype=weight.dtype))
        return {name: total / len(order) for name, total in sums.items()}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return in_fixed_batches(self.model.predict_on_batch, tokens)

    def explain(self, tokens: np.ndarray) -> dict[str, np.ndarray]:
        return in_fixed_batches(self.explainer.predict_on_batch, tokens)


def in_fixed_batches(predict, tokens: np.ndarray):
    """`predict` over `tokens` in batches of PREDICT_BATCH, the last one padded with zeros: one
    input shape for every model and every call, so no model's numbers depend on which model was
    compiled first (or on the order after a resume)."""
    parts = []
    for start in range(0, len(tokens), PREDICT_BATCH):
        batch = tokens[start:start + PREDICT_BATCH]
        padded = np.zeros((PREDICT_BATCH, *tokens.shape[1:]), dtype=tokens.dtype)
        padded[:len(batch)] = batch
        out = predict(padded)
        parts.append({name: np.asarray(values)[:len(batch)] for name, values in out.items()}
                     if isinstance(out, dict) else np.asarray(out)[:len(batch)])
    if isinstance(parts[0], dict):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return np.concatenate(parts)


def validation_scores(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Cross-entropy of the true class (probability clipped at 1e-7) and accuracy."""
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return {"val_loss": float(-np.log(picked).mean()),
            "val_accuracy": float(np.mean(probs.argmax(1) == labels))}


def early_stopping(state: ModelState, weights: list[np.ndarray], config: Config) -> None:
    """Early stopping after the epoch `state.epochs_done` (1-based); epochs before
    `early_stopping_start` are not watched. On val_loss as Keras's EarlyStopping: the lowest loss's
    weights are kept, and training stops after `early_stopping_patience` epochs without a lower
    one. On val_accuracy: training stops after that many epochs without a higher accuracy, and the
    weights kept are those of the highest accuracy, the lowest loss among its epochs (an accuracy
    over a few validation clips ties often)."""
    epoch = state.epochs_done
    loss, accuracy = state.history[-1]["val_loss"], state.history[-1]["val_accuracy"]
    if epoch <= config.early_stopping_start:
        return
    if config.early_stopping_monitor == "val_loss":
        rises = better = not np.isnan(loss) and (state.best_score is None or loss < state.best_score)
        score = loss
    else:
        rises = state.best_score is None or accuracy > state.best_score
        better = rises or (accuracy == state.best_score and not np.isnan(loss)
                           and (state.best_loss is None or loss < state.best_loss))
        score = accuracy
    if better:
        state.best_score, state.best_loss = score, loss
        state.best_epoch, state.best_weights = epoch, weights
    state.wait = 0 if rises else state.wait + 1
    if state.wait >= config.early_stopping_patience:
        state.stopped = True


def is_stuck(state: ModelState, config: Config) -> bool:
    """Whether the model should train again: it has finished, its validation accuracy never
    reached `restart_below`, and it has restarts left."""
    return (state.stopped and state.restarts < config.restarts
            and max(row["val_accuracy"] for row in state.history) < config.restart_below)


CHECKPOINT_FORMAT = 3


class Checkpoint:
    """Every model's state in one atomic file, written after every epoch of all models. A model's
    state is continued only when its fingerprint (`model_fingerprint`) matches."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, states: dict[str, ModelState], fingerprints: dict[str, str]) -> None:
        arrays: dict[str, np.ndarray] = {}
        for i, state in enumerate(states.values()):
            for part in ("weights", "optimizer", "best_weights"):
                for j, value in enumerate(getattr(state, part) or []):
                    arrays[f"m{i}_{part}_{j}"] = value
        meta = {"models": [{"key": key, "fingerprint": fingerprints[key], **state.bookkeeping()}
                           for key, state in states.items()]}
        with atomic_path(self.path) as tmp, open(tmp, "wb") as out:
            np.savez(out, meta=np.array(json.dumps(meta)), **arrays)

    def read(self, fingerprints: dict[str, str]) -> dict[str, ModelState]:
        """The saved states of the models whose key and fingerprint match (none from an unreadable
        file, which is reported and then overwritten)."""
        if not self.path.is_file():
            return {}
        try:
            return self._read(fingerprints)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            warnings.warn(f"The training checkpoint {self.path} could not be read ({error}); "
                          "its models train from the start.", stacklevel=2)
            return {}

    def _read(self, fingerprints: dict[str, str]) -> dict[str, ModelState]:
        states = {}
        with np.load(self.path) as data:
            for i, book in enumerate(json.loads(str(data["meta"]))["models"]):
                key, found = book.pop("key"), book.pop("fingerprint")
                if fingerprints.get(key) != found:
                    continue
                parts = {part: [data[name] for name in sorted(
                    (n for n in data.files if n.startswith(f"m{i}_{part}_")),
                    key=lambda n: int(n.rsplit("_", 1)[1]))]
                    for part in ("weights", "optimizer", "best_weights")}
                has_best = book.pop("has_best")
                states[key] = ModelState(weights=parts["weights"], optimizer=parts["optimizer"],
                                         best_weights=parts["best_weights"] if has_best else None,
                                         **book)
        return states

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def model_fingerprint(spec: ModelSpec, config: Config, n_clips: int) -> str:
    """What a saved state must match to be continued: the checkpoint format, the Keras backend,
    the run's parameters, the model and its clips."""
    import keras

    digest = hashlib.sha256(f"{CHECKPOINT_FORMAT} {keras.backend.backend()} {config.key()} "
                            f"{n_clips} {spec.key}".encode())
    for part in (spec.fit, spec.validation, spec.held_out):
        digest.update(np.asarray(part, dtype=np.int64).tobytes())
    return digest.hexdigest()


def train_together(specs: list[ModelSpec], tokens: np.ndarray, labels: np.ndarray,
                   config: Config, checkpoint_path: Path, *,
                   progress: bool = True) -> dict[str, TrainedModel]:
    """Train every spec to the end in one process, continuing each model saved in
    `checkpoint_path`; the checkpoint is written after every epoch of all models and kept at the
    end: the caller deletes it once the models are stored. `tokens`: every clip's
    (n_tokens, n_mels, token_frames) float32 tokens."""
    from paperlib.core.progress import Progress

    n_classes = int(labels.max()) + 1
    workers = {pooling: Worker(config.replace(pooling=pooling), n_classes)
               for pooling in dict.fromkeys(spec.pooling for spec in specs)}
    fingerprints = {spec.key: model_fingerprint(spec, config, len(labels)) for spec in specs}
    checkpoint = Checkpoint(checkpoint_path)
    saved = checkpoint.read(fingerprints)
    states = {spec.key: saved.get(spec.key) or workers[spec.pooling].initial_state(
        spec.init_seed(config), n_classes) for spec in specs}
    done, total = _progress(states, config)
    with Progress(f"training {len(specs)} models", total=total, initial=done, unit="model-epochs",
                  enabled=progress) as bar:
        while active := [spec for spec in specs if not states[spec.key].stopped]:
            for spec in active:  # one epoch of every model still training, then a checkpoint
                state = _one_epoch(spec, states[spec.key], workers[spec.pooling], tokens, labels,
                                   config, n_classes)
                states[spec.key] = state
                training = sum(not s.stopped for s in states.values())
                bar.update(*_progress(states, config),
                           f"{training} of {len(specs)} models training; {spec.label}, epoch "
                           f"{state.epochs_done}{f' (restart {state.restarts})' if state.restarts else ''}")
            checkpoint.write(states, fingerprints)
    return {spec.key: _finish(spec, states[spec.key], workers[spec.pooling], tokens)
            for spec in specs}


def _progress(states: dict[str, ModelState], config: Config) -> tuple[int, int]:
    """Epochs done and planned, a finished or abandoned attempt counting `epochs` in full."""
    done = sum(config.epochs * s.restarts + (config.epochs if s.stopped else s.epochs_done)
               for s in states.values())
    return done, sum(config.epochs * (1 + s.restarts) for s in states.values())


def _one_epoch(spec: ModelSpec, state: ModelState, worker: Worker, tokens: np.ndarray,
               labels: np.ndarray, config: Config, n_classes: int) -> ModelState:
    """The state after one more epoch: the model's own, or a fresh one when it `is_stuck`."""
    start = time.perf_counter()
    epoch = state.epochs_done
    worker.load(state)
    order = spec.fit[spec.batch_order(config, epoch, state.restarts)]
    rng = generator(config.seed, "augmentation", spec.fold, spec.attempt, state.restarts, epoch)
    logs = worker.train_epoch(tokens, labels, order, epoch=epoch, rng=rng,
                              uniform_attention=epoch < spec.warmup(config))
    logs.update(validation_scores(worker.predict(tokens[spec.validation]), labels[spec.validation]))
    worker.save(state)
    state.history.append(logs)
    state.epochs_done = epoch + 1
    early_stopping(state, state.weights, config)
    if state.epochs_done >= config.epochs:
        state.stopped = True
    if is_stuck(state, config):
        seconds = state.seconds
        state = worker.initial_state(spec.init_seed(config, state.restarts + 1), n_classes,
                                     restarts=state.restarts + 1)
        state.seconds = seconds
    state.seconds += time.perf_counter() - start
    return state


def _finish(spec: ModelSpec, state: ModelState, worker: Worker,
            tokens: np.ndarray) -> TrainedModel:
    """The best watched epoch's weights (the last epoch's when none was watched) and outputs."""
    weights, best_epoch = state.weights, state.epochs_done
    if state.best_weights is not None:
        weights, best_epoch = state.best_weights, int(state.best_epoch)
    worker.model.set_weights(weights)
    return TrainedModel(spec, weights, state.history, best_epoch, worker.explain(tokens),
                        state.seconds, state.restarts)
