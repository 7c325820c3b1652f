"""The `vector` trainer: every model of a run in one compiled step (Keras on JAX).

The run's models share one network (`network.build_model`): each model's weights, batch
normalisation statistics and optimizer variables are one slot of stacked arrays, and one jitted
epoch trains every slot on its own batches of its own clips, then scores each on its own
validation clips. Keras's `stateless_call` runs the network; the slots are mapped with `jax.vmap`
on a GPU, and with `jax.lax.map` on a CPU, where XLA's grouped convolutions are slow and a stopped
model's step is skipped. Mean pooling is the same network with its attention scores held at zero
(gradients and weights), so both poolings train in one program.

Everything `training_state` gives a model stays its own: clips and inner validation split, seeded
batch order and weights, the attention warm-up, the learning rate of its epoch, augmentation from
its own stream, early stopping on its own score, its best-epoch weights, restarts. Shapes are fixed
for a run: every slot runs the largest model's number of batches (`epoch_batches`, as the `one`
trainer takes them: the last filled with zero-weight clips); steps past a model's end, models that
stopped and empty slots change nothing. Slot counts
are the next multiple of SLOT_STEP (a function of the model count alone, so a resumed program gets
the shapes it had), and JAX's persistent compilation cache (`session`) keeps them between runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.model.network import OUTPUTS, build_model, explainer
from paperlib.model.recipe import (
    apply_augmentation,
    augmentation_draws,
    augments,
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
)

SLOT_STEP = 8  # slots come in multiples of this
OUTPUT_CHUNK = 64  # clips per call when the kept models describe every clip
CHECKPOINT_SECONDS = 10.0  # the checkpoint is written at most this often (and after the last epoch)


def needs_jax() -> None:
    """Refuse, saying what to do, when Keras does not run on JAX in this process."""
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"trainer=vector trains with JAX, but Keras runs on {keras.backend.backend()!r} in this "
            "process. Set KERAS_BACKEND=jax before Python starts (`make reproduce ACCELERATOR=gpu` "
            "does), or train with trainer=one.")


def slots_on_device() -> str:
    """How the slots share the device: 'vmap' (one wide step, for accelerators) or 'map' (one
    slot after another inside the compiled step, for CPUs)."""
    import jax

    return "map" if jax.default_backend() == "cpu" else "vmap"


class StackedNetwork:
    """The network of one architecture, compiled once per shape: an epoch of every slot, the
    outputs of kept weights, keeping the best weights."""

    def __init__(self, config: Config, n_classes: int, mapping: str):
        import jax

        self.config = config.replace(pooling="attention")
        self.n_classes = n_classes
        self.mapping = mapping
        self.model = build_model(self.config, n_classes)
        compile_for_training(self.model, self.config)
        self.optimizer = self.model.optimizer
        self.optimizer.build(self.model.trainable_variables)
        self.explainer = explainer(self.model)
        flags = [v.trainable for v in self.model.weights]
        self.trainable = [i for i, trainable in enumerate(flags) if trainable]
        self.non_trainable = [i for i, trainable in enumerate(flags) if not trainable]
        self.n_weights = len(flags)
        score = {id(v) for v in self.model.get_layer("score").weights}
        self.score = [i for i, v in enumerate(self.model.trainable_variables) if id(v) in score]
        self.learning_rate = next(i for i, v in enumerate(self.optimizer.variables)
                                  if v.name == "learning_rate")
        self.fresh_optimizer = [np.asarray(v.numpy()) for v in self.optimizer.variables]
        self._jitted = {"epoch": jax.jit(self._epoch), "describe": jax.jit(self._describe)}
        self._compiled: dict[tuple, object] = {}
        self.compile_seconds = 0.0  # spent compiling in this process, all shapes together
        self.keep_best = jax.jit(_where_slots)

    def run(self, name: str, *args):
        """The jitted function `name` on `args`, compiled ahead of its first call for their shapes
        (timed in `compile_seconds`; JAX's persistent cache may serve it)."""
        import jax

        signature = (name, str(jax.tree.map(lambda a: (a.shape, str(a.dtype)), args)))
        if signature not in self._compiled:
            start = time.perf_counter()
            self._compiled[signature] = self._jitted[name].lower(*args).compile()
            self.compile_seconds += time.perf_counter() - start
        return self._compiled[signature](*args)

    # the state of one model, as numpy arrays in `model.weights` order
    def split(self, weights: list[np.ndarray]) -> tuple[list, list]:
        return [weights[i] for i in self.trainable], [weights[i] for i in self.non_trainable]

    def join(self, trainable: list, non_trainable: list) -> list[np.ndarray]:
        weights: list = [None] * self.n_weights
        for i, value in zip(self.trainable, trainable, strict=True):
            weights[i] = value
        for i, value in zip(self.non_trainable, non_trainable, strict=True):
            weights[i] = value
        return weights

    def _over_slots(self, fn, *args):
        import jax

        if self.mapping == "vmap":
            return jax.vmap(fn)(*args)
        return jax.lax.map(lambda each: fn(*each), args)

    def _epoch(self, stack: dict, tokens, labels, plan: dict):
        """One epoch of every slot: (stack, per slot: summed loss, correct clips, validation
        loss and accuracy)."""
        import jax

        def step(carry, xs):
            trainable, non_trainable, optimizer = carry
            index, weight, active, draws = xs
            (trainable, non_trainable, optimizer), sums = self._over_slots(
                partial(self._slot_step, tokens=tokens, labels=labels),
                trainable, non_trainable, optimizer, index, weight, active,
                plan["learning_rate"], plan["uniform"], plan["fixed_scores"], draws)
            return (trainable, non_trainable, optimizer), sums

        carry = (stack["trainable"], stack["non_trainable"], stack["optimizer"])
        carry, (losses, correct) = jax.lax.scan(
            step, carry, (plan["index"], plan["weight"], plan["active"], plan["draws"]))
        trainable, non_trainable, optimizer = carry
        validation = self._over_slots(partial(self._slot_validation, tokens=tokens, labels=labels),
                                      trainable, non_trainable, plan["validation"],
                                      plan["validation_weight"])
        stack = {"trainable": trainable, "non_trainable": non_trainable, "optimizer": optimizer}
        return stack, losses.sum(0), correct.sum(0), validation

    def _slot_step(self, trainable, non_trainable, optimizer, index, weight, active, learning_rate,
                   uniform, fixed_scores, draws, *, tokens, labels):
        """One batch of one slot (nothing when `active` is false): the new state and the batch's
        summed loss and correct clips."""
        import jax
        import jax.numpy as jnp
        import keras

        def train(state):
            trainable, non_trainable, optimizer = state
            targets = jax.nn.one_hot(labels[index], self.n_classes, dtype="float32")
            batch = tokens[index]
            if draws:
                batch, targets = apply_augmentation(batch, targets, draws, jnp)

            def loss(values):
                probs, updated = self.model.stateless_call(values, non_trainable, batch, training=True)
                each = keras.losses.categorical_crossentropy(
                    targets, probs, label_smoothing=self.config.label_smoothing)
                return (each * weight).sum() / jnp.maximum(weight.sum(), 1.0), (updated, probs)

            (value, (non_trainable, probs)), grads = jax.value_and_grad(loss, has_aux=True)(trainable)
            grads = [jnp.where(fixed_scores, jnp.zeros_like(g), g) if i in self.score else g
                     for i, g in enumerate(grads)]
            optimizer = list(optimizer)
            optimizer[self.learning_rate] = learning_rate.astype(optimizer[self.learning_rate].dtype)
            trainable, optimizer = self.optimizer.stateless_apply(optimizer, grads, trainable)
            trainable = [jnp.where(uniform, jnp.zeros_like(v), v) if i in self.score else v
                         for i, v in enumerate(trainable)]
            correct = ((probs.argmax(-1) == targets.argmax(-1)) * weight).sum()
            return (list(trainable), list(non_trainable), list(optimizer)), (value * weight.sum(), correct)

        def rest(state):
            return state, (jnp.float32(0), jnp.float32(0))

        return jax.lax.cond(active, train, rest, (list(trainable), list(non_trainable), list(optimizer)))

    def _slot_validation(self, trainable, non_trainable, index, weight, *, tokens, labels):
        """Validation loss (cross-entropy, probability clipped at 1e-7) and accuracy of one slot."""
        import jax.numpy as jnp

        probs, _ = self.model.stateless_call(trainable, non_trainable, tokens[index], training=False)
        truth = labels[index]
        picked = jnp.clip(jnp.take_along_axis(probs, truth[:, None], axis=1)[:, 0], 1e-7, 1.0)
        total = jnp.maximum(weight.sum(), 1.0)
        return (-jnp.log(picked) * weight).sum() / total, ((probs.argmax(-1) == truth) * weight).sum() / total

    def _describe(self, trainable, non_trainable, batch):
        """network.OUTPUTS of every slot for one batch of clips (shared by the slots)."""
        def one(trainable, non_trainable):
            outputs, _ = self.explainer.stateless_call(trainable, non_trainable, batch, training=False)
            return outputs

        return self._over_slots(one, trainable, non_trainable)


def _where_slots(chosen, stack, other):
    """Per slot, `stack`'s arrays where `chosen` is true, else `other`'s."""
    import jax
    import jax.numpy as jnp

    def pick(a, b):
        return jnp.where(chosen.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, stack, other)


_NETWORKS: dict[tuple, StackedNetwork] = {}


def network_for(config: Config, n_classes: int, mapping: str | None = None) -> StackedNetwork:
    """This process's compiled network for `config`'s architecture and recipe (made once);
    `mapping` ('vmap' or 'map') defaults to `slots_on_device`."""
    mapping = mapping or slots_on_device()
    if mapping not in ("vmap", "map"):
        raise ValueError(f"mapping is 'vmap' or 'map', got {mapping!r}.")
    key = (config.replace(pooling="attention", seed=0, epochs=1).key(), n_classes, mapping)
    if key not in _NETWORKS:
        _NETWORKS[key] = StackedNetwork(config, n_classes, mapping)
    return _NETWORKS[key]


def slot_count(models: int) -> int:
    """Slots for `models` models: the next multiple of SLOT_STEP, whatever ran before in this
    process (a resumed program compiles the shapes the interrupted one had)."""
    return -(-models // SLOT_STEP) * SLOT_STEP


@dataclass
class Slots:
    """The models of one program in their slots, and the host's view of them."""

    specs: list[ModelSpec]
    states: dict[str, ModelState]
    count: int
    steps: int  # batches per epoch, every slot
    validation: int  # validation clips per slot


def initial_weights(spec: ModelSpec, config: Config, n_classes: int, restarts: int = 0) -> list[np.ndarray]:
    """A model's fresh weights from its seed (as the `one` trainer draws them), in
    `model.weights` order."""
    import keras

    keras.utils.set_random_seed(spec.init_seed(restarts))
    return build_model(config.replace(pooling=spec.pooling), n_classes).get_weights()


def train_stacked(specs: list[ModelSpec], tokens: np.ndarray, labels: np.ndarray, config: Config,
                  checkpoint_path: Path, *, progress: bool = True,
                  checkpoint_seconds: float = CHECKPOINT_SECONDS,
                  mapping: str | None = None) -> dict[str, TrainedModel]:
    """Train every spec to the end in one compiled program, continuing each model saved in
    `checkpoint_path` (written at most every `checkpoint_seconds` and after the last epoch, kept
    at the end: the caller deletes it once the models are stored). Same contract as
    `program.train_together`; `mapping` as `network_for`."""
    import jax.numpy as jnp

    from paperlib.core.progress import Progress

    needs_jax()
    n_classes = int(labels.max()) + 1
    network = network_for(config, n_classes, mapping)
    fingerprints = {spec.key: model_fingerprint(spec, config, len(labels)) for spec in specs}
    checkpoint = Checkpoint(checkpoint_path)
    saved = checkpoint.read(fingerprints)
    states = {spec.key: saved.get(spec.key) or _fresh_state(network, spec, config, n_classes)
              for spec in specs}
    slots = Slots(specs, states, slot_count(len(specs)),
                  steps=max(-(-len(s.fit) // config.batch_size) for s in specs),
                  validation=max(len(s.validation) for s in specs))
    stack, best = _to_device(network, slots)
    device_tokens, device_labels = jnp.asarray(tokens), jnp.asarray(labels.astype(np.int32))
    last_write = time.perf_counter()
    done, total = epochs_progress(states, config)
    with Progress(f"training {len(specs)} models together", total=total, initial=done,
                  unit="model-epochs", enabled=progress) as bar:
        while active := [i for i, spec in enumerate(specs) if not states[spec.key].stopped]:
            start = time.perf_counter()
            plan = _plan(network, slots, active, config)
            stack, losses, correct, (val_loss, val_accuracy) = network.run(
                "epoch", stack, device_tokens, device_labels, plan)
            losses, correct = np.asarray(losses), np.asarray(correct)
            val_loss, val_accuracy = np.asarray(val_loss), np.asarray(val_accuracy)
            improved = np.zeros(slots.count, dtype=bool)
            share = (time.perf_counter() - start) / len(active)
            for i in active:
                spec = specs[i]
                state = states[spec.key]
                n_fit = len(spec.fit)
                state.history.append({"accuracy": float(correct[i] / n_fit), "loss": float(losses[i] / n_fit),
                                      "val_loss": float(val_loss[i]), "val_accuracy": float(val_accuracy[i])})
                state.epochs_done += 1
                state.seconds += share
                early_stopping(state, None, config)
                improved[i] = state.best_epoch == state.epochs_done
                if state.epochs_done >= config.epochs:
                    state.stopped = True
            best = network.keep_best(jnp.asarray(improved), _weights_of(stack), best)
            for i in active:
                state = states[specs[i].key]
                if is_stuck(state, config):
                    fresh = _fresh_state(network, specs[i], config, n_classes, state.restarts + 1)
                    fresh.seconds = state.seconds
                    states[specs[i].key] = state = fresh
                    stack = _set_slot(network, stack, i, state)
            training = sum(not s.stopped for s in states.values())
            bar.update(*epochs_progress(states, config), f"{training} of {len(specs)} models training")
            finished = all(states[spec.key].stopped for spec in specs)
            if finished or time.perf_counter() - last_write >= checkpoint_seconds:
                _write_checkpoint(checkpoint, network, slots, stack, best, fingerprints)
                last_write = time.perf_counter()
    return _finish(network, slots, stack, best, device_tokens, config)


def _fresh_state(network: StackedNetwork, spec: ModelSpec, config: Config, n_classes: int,
                 restarts: int = 0) -> ModelState:
    weights = initial_weights(spec, config, n_classes, restarts)
    return ModelState(weights=weights, optimizer=[v.copy() for v in network.fresh_optimizer],
                      restarts=restarts)


def _to_device(network: StackedNetwork, slots: Slots) -> tuple[dict, dict]:
    """The stacked state and best weights of every slot (empty slots repeat the first model)."""
    import jax.numpy as jnp

    states = [slots.states[spec.key] for spec in slots.specs]
    states += [states[0]] * (slots.count - len(states))
    parts = {"trainable": [], "non_trainable": [], "optimizer": []}
    best_parts = {"trainable": [], "non_trainable": []}
    for state in states:
        trainable, non_trainable = network.split(state.weights)
        parts["trainable"].append(trainable)
        parts["non_trainable"].append(non_trainable)
        parts["optimizer"].append(state.optimizer)
        kept_trainable, kept_non_trainable = network.split(state.best_weights or state.weights)
        best_parts["trainable"].append(kept_trainable)
        best_parts["non_trainable"].append(kept_non_trainable)

    def stacked(per_slot: list[list[np.ndarray]]) -> list:
        return [jnp.asarray(np.stack(values)) for values in zip(*per_slot, strict=True)]

    return ({name: stacked(values) for name, values in parts.items()},
            {name: stacked(values) for name, values in best_parts.items()})


def _weights_of(stack: dict) -> dict:
    return {"trainable": stack["trainable"], "non_trainable": stack["non_trainable"]}


def _set_slot(network: StackedNetwork, stack: dict, slot: int, state: ModelState) -> dict:
    """`stack` with one slot's state replaced (a restarted model)."""
    trainable, non_trainable = network.split(state.weights)
    new = {"trainable": trainable, "non_trainable": non_trainable, "optimizer": state.optimizer}
    return {name: [array.at[slot].set(value) for array, value in zip(stack[name], new[name], strict=True)]
            for name in stack}


def _plan(network: StackedNetwork, slots: Slots, active: list[int], config: Config) -> dict:
    """Every slot's work for this epoch, from its own epoch number and seeds: batches (clip
    indices, loss weights, whether the step trains it), learning rate, uniform attention,
    augmentation draws, validation clips."""
    batch = config.batch_size
    count, steps = slots.count, slots.steps
    index = np.zeros((steps, count, batch), dtype=np.int32)
    weight = np.zeros((steps, count, batch), dtype=np.float32)
    on = np.zeros((steps, count), dtype=bool)
    learning_rate = np.zeros(count, dtype=np.float32)
    uniform = np.ones(count, dtype=bool)
    fixed_scores = np.ones(count, dtype=bool)
    validation = np.zeros((count, slots.validation), dtype=np.int32)
    validation_weight = np.zeros((count, slots.validation), dtype=np.float32)
    shape = (batch, config.n_tokens, config.n_mels, config.token_frames)
    draws: dict[str, np.ndarray] = {}
    for i, spec in enumerate(slots.specs):
        state = slots.states[spec.key]
        validation[i, :len(spec.validation)] = spec.validation
        validation_weight[i, :len(spec.validation)] = 1.0
        if i not in active:
            continue
        epoch = state.epochs_done
        order = spec.fit[spec.batch_order(epoch, state.restarts)]
        batches = epoch_batches(order, batch)
        own = len(batches)
        for step, (take, weights) in enumerate(batches):
            index[step, i], weight[step, i] = take, weights
        on[:own, i] = True
        learning_rate[i] = learning_rate_at(config, epoch)
        uniform[i] = spec.pooling != "attention" or epoch < spec.warmup(config)
        fixed_scores[i] = spec.pooling != "attention"
        if augments(config):
            rng = spec.augmentation_stream(epoch, state.restarts)
            for step in range(steps):
                for name, values in augmentation_draws(shape, config, rng).items():
                    draws.setdefault(name, np.zeros((steps, count, *values.shape), values.dtype))
                    draws[name][step, i] = values
    return {"index": index, "weight": weight, "active": on, "learning_rate": learning_rate,
            "uniform": uniform, "fixed_scores": fixed_scores, "draws": draws,
            "validation": validation, "validation_weight": validation_weight}


def _write_checkpoint(checkpoint: Checkpoint, network: StackedNetwork, slots: Slots, stack: dict,
                      best: dict, fingerprints: dict[str, str]) -> None:
    """Every model's state as the `one` trainer saves it (weights in `model.weights` order)."""
    host = {name: [np.asarray(a) for a in arrays] for name, arrays in stack.items()}
    kept = {name: [np.asarray(a) for a in arrays] for name, arrays in best.items()}
    for i, spec in enumerate(slots.specs):
        state = slots.states[spec.key]
        state.weights = network.join([a[i] for a in host["trainable"]], [a[i] for a in host["non_trainable"]])
        state.optimizer = [a[i] for a in host["optimizer"]]
        state.best_weights = (network.join([a[i] for a in kept["trainable"]],
                                           [a[i] for a in kept["non_trainable"]])
                              if state.best_epoch is not None else None)
    checkpoint.write(slots.states, fingerprints)


def _finish(network: StackedNetwork, slots: Slots, stack: dict, best: dict, tokens,
            config: Config) -> dict[str, TrainedModel]:
    """Each model's kept weights (its best watched epoch's, else its last) and their outputs for
    every clip."""
    import jax.numpy as jnp

    has_best = np.zeros(slots.count, dtype=bool)
    for i, spec in enumerate(slots.specs):
        has_best[i] = slots.states[spec.key].best_epoch is not None
    kept = network.keep_best(jnp.asarray(has_best), best, _weights_of(stack))
    parts = []
    n_clips = tokens.shape[0]
    for start in range(0, n_clips, OUTPUT_CHUNK):
        batch = tokens[start:start + OUTPUT_CHUNK]
        if batch.shape[0] < OUTPUT_CHUNK:  # one shape for every call
            batch = jnp.concatenate([batch, jnp.zeros((OUTPUT_CHUNK - batch.shape[0], *batch.shape[1:]),
                                                      batch.dtype)])
        out = network.run("describe", kept["trainable"], kept["non_trainable"], batch)
        parts.append({name: np.asarray(out[name])[:, :min(OUTPUT_CHUNK, n_clips - start)] for name in OUTPUTS})
    outputs = {name: np.concatenate([part[name] for part in parts], axis=1) for name in OUTPUTS}
    trainable = [np.asarray(a) for a in kept["trainable"]]
    non_trainable = [np.asarray(a) for a in kept["non_trainable"]]
    trained = {}
    for i, spec in enumerate(slots.specs):
        state = slots.states[spec.key]
        weights = network.join([a[i] for a in trainable], [a[i] for a in non_trainable])
        best_epoch = int(state.best_epoch) if state.best_epoch is not None else state.epochs_done
        trained[spec.key] = TrainedModel(spec, weights, state.history, best_epoch,
                                         {name: values[i] for name, values in outputs.items()},
                                         state.seconds, state.restarts)
    return trained
