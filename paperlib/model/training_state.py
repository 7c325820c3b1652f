"""What every trainer of a run shares: a model's spec and state, early stopping, restarts, the
checkpoint and its fingerprints.

Per model, as in the paper's protocol (section 3.1): batches in a seeded order per epoch, its own
inner validation split, early stopping on `early_stopping_monitor` (the validation accuracy by
default, or the loss) from `early_stopping_start` with `early_stopping_patience`, and the best-epoch
weights kept; attention models start with `attention_warmup` epochs of uniform attention (see
`ModelSpec.warmup`). A model whose validation accuracy never reached `restart_below` in its whole
training (stuck, as a model on the synthetic data can be at the level of its confusable pairs) is
trained again from another seed, `restarts` times at most, and the last training is kept: a rule
that looks only at the model's own validation clips. Checked at the end, not earlier: many models
find the decisive moments only after epoch 30.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.core.files import atomic_path
from paperlib.core.registry import FINAL
from paperlib.core.seeds import generator, integer_seed


@dataclass(frozen=True)
class ModelSpec:
    """One model of a run: which clips it fits, stops on and predicts, and its seeds (every
    stream derives from the run's `seed`). `run` names the run when the models of several runs
    train in one program (a sweep's members); "" for a run's own program."""

    pooling: str
    fold: int  # FINAL for the model trained on every clip
    attempt: int
    fit: np.ndarray  # clip indices it trains on
    validation: np.ndarray  # its early-stopping clips
    held_out: np.ndarray  # the clips it predicts (every clip for FINAL)
    seed: int  # the run's seed
    run: str = ""

    @property
    def key(self) -> str:
        model = f"{self.pooling}/{'final' if self.fold == FINAL else self.fold}/{self.attempt}"
        return f"{self.run}:{model}" if self.run else model

    @property
    def label(self) -> str:
        which = "final model" if self.fold == FINAL else f"fold {self.fold + 1}"
        return f"{self.pooling} {which}{f' (attempt {self.attempt + 1})' if self.attempt else ''}"

    def init_seed(self, restarts: int = 0) -> int:
        """The weights' seed; the same for both poolings of a fold (a paired ablation)."""
        return integer_seed(self.seed, "weights", self.fold, self.attempt, restarts)

    def batch_order(self, epoch: int, restarts: int = 0) -> np.ndarray:
        """Positions in `fit`, in this epoch's order: a function of the seeds and the epoch only,
        so a resumed model sees the batches an uninterrupted one sees."""
        rng = generator(self.seed, "batch_order", self.fold, self.attempt, restarts, epoch)
        return rng.permutation(len(self.fit))

    def augmentation_stream(self, epoch: int, restarts: int = 0) -> np.random.Generator:
        """The random stream that augments this epoch's batches."""
        return generator(self.seed, "augmentation", self.fold, self.attempt, restarts, epoch)

    def warmup(self, config: Config) -> int:
        """Epochs with the attention scores held at zero (uniform weights, a mean).

        Early in training the model learns the genre families from every token; a token that
        looks unusual (such as a signature moment) then only disturbs the family features, and
        attention that is free from the start learns to ignore it before the CNN has learned what
        it means. Starting from uniform weights lets the CNN learn from every token first.
        """
        return config.attention_warmup if self.pooling == "attention" else 0


def epoch_batches(order: np.ndarray, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """An epoch's batches in `order` (clip indices), every one of `batch_size` clips, as (clip
    indices, loss weights): each batch's clips sorted, the last one filled with clips from the
    start of `order` (round again where `order` is shorter than a batch) whose weight is zero. One
    shape for every step of every model (a compiled step needs it); batch normalisation sees the
    filling clips, the loss does not."""
    batches = []
    for start in range(0, len(order), batch_size):
        real = np.sort(order[start:start + batch_size])
        weights = np.zeros(batch_size, dtype=np.float32)
        weights[:len(real)] = 1.0
        batches.append((np.concatenate([real, np.resize(order, batch_size - len(real))]), weights))
    return batches


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


CHECKPOINT_FORMAT = 4  # 4: the trainer and each model's own seed in its fingerprint


class Checkpoint:
    """Every model's state in one atomic file, written by the `one` trainer after every epoch of
    all models and by `vector` at most every `vectorised.CHECKPOINT_SECONDS` and after its last
    epoch. A model's state is continued only when its fingerprint (`model_fingerprint`) matches."""

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
                            f"{n_clips} {spec.key} {spec.seed}".encode())
    for part in (spec.fit, spec.validation, spec.held_out):
        digest.update(np.asarray(part, dtype=np.int64).tobytes())
    return digest.hexdigest()


def epochs_progress(states: dict[str, ModelState], config: Config) -> tuple[int, int]:
    """Epochs done and planned, a finished or abandoned attempt counting `epochs` in full."""
    done = sum(config.epochs * s.restarts + (config.epochs if s.stopped else s.epochs_done)
               for s in states.values())
    return done, sum(config.epochs * (1 + s.restarts) for s in states.values())
