"""The `one` trainer: every model of a run in one process, one model at a time, on any Keras backend.

A run trains many small models of one architecture (the k fold models, the final model, the
mean-pooling ablation's folds). They train together: the tokens of every clip are cut once and held
in memory, each pooling has one compiled Keras model (the *worker*), and each model of the run is
its own state (weights, optimizer variables, early-stopping bookkeeping) that is swapped into the
worker for its epoch. A model's training depends only on its own seed, clips and state, never on
the other models, so it ends where it would alone. After every epoch of all models the states are
written to one atomic checkpoint: an interrupted program resumes from its last completed epoch and
ends with the same numbers as an uninterrupted one (same seed, same machine). What each model's
training follows (its clips, seeds, warm-up, early stopping, restarts) is in `training_state`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.model.network import build_model, explainer
from paperlib.model.recipe import (
    augmented_batch,
    compile_for_training,
    learning_rate_at,
)
from paperlib.model.training_state import (
    Checkpoint,
    ModelSpec,
    ModelState,
    TrainedModel,
    early_stopping,
    epoch_batches,
    epochs_progress,
    is_stuck,
    model_fingerprint,
    validation_scores,
)

PREDICT_BATCH = 32


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
        """One pass over `order` (clip indices) in `epoch_batches` at `epoch`'s learning rate, each
        batch augmented with `rng` as the recipe says; the epoch's mean loss and accuracy over its
        clips (`train_on_batch` reports each batch alone). A batch's loss is the mean over its own
        clips: Keras divides the weighted sum by the batch size, so each real clip weighs
        batch size / real clips."""
        self.model.optimizer.learning_rate = learning_rate_at(self.config, epoch)
        n_classes = self.model.output_shape[-1]
        sums: dict[str, float] = {}
        for take, weights in epoch_batches(order, self.config.batch_size):
            real = int(weights.sum())
            batch, targets = augmented_batch(tokens[take], labels[take], n_classes, self.config, rng)
            logs = self.model.train_on_batch(batch, targets, sample_weight=weights * (len(take) / real),
                                             return_dict=True)
            for name, value in logs.items():
                sums[name] = sums.get(name, 0.0) + float(value) * real
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
        spec.init_seed(), n_classes) for spec in specs}
    done, total = epochs_progress(states, config)
    with Progress(f"training {len(specs)} models", total=total, initial=done, unit="model-epochs",
                  enabled=progress) as bar:
        while active := [spec for spec in specs if not states[spec.key].stopped]:
            for spec in active:  # one epoch of every model still training, then a checkpoint
                state = _one_epoch(spec, states[spec.key], workers[spec.pooling], tokens, labels,
                                   config, n_classes)
                states[spec.key] = state
                training = sum(not s.stopped for s in states.values())
                bar.update(*epochs_progress(states, config),
                           f"{training} of {len(specs)} models training; {spec.label}, epoch "
                           f"{state.epochs_done}{f' (restart {state.restarts})' if state.restarts else ''}")
            checkpoint.write(states, fingerprints)
    return {spec.key: _finish(spec, states[spec.key], workers[spec.pooling], tokens)
            for spec in specs}


def _one_epoch(spec: ModelSpec, state: ModelState, worker: Worker, tokens: np.ndarray,
               labels: np.ndarray, config: Config, n_classes: int) -> ModelState:
    """The state after one more epoch: the model's own, or a fresh one when it `is_stuck`."""
    start = time.perf_counter()
    epoch = state.epochs_done
    worker.load(state)
    order = spec.fit[spec.batch_order(epoch, state.restarts)]
    rng = spec.augmentation_stream(epoch, state.restarts)
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
        state = worker.initial_state(spec.init_seed(state.restarts + 1), n_classes,
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
