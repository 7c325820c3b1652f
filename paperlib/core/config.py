"""One typed configuration for a run: defaults, YAML profiles, overrides and their validation."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paperlib.core import paths

DATASETS = ("synthetic", "gtzan")
POOLINGS = ("attention", "mean")
TOKEN_POOLINGS = ("average", "max")
SPLITS = ("random", "artist", "fault-filtered")
SOURCES = ("audio", "images")
# Parameters that change how fast or where a run goes, never what it computes.
RUNTIME_KEYS = frozenset({"profile", "workers", "run_dir", "verbose"})


@dataclass(frozen=True)
class Config:
    """Everything a run depends on; the paper's values are the defaults (section 2.2)."""

    profile: str = "default"
    seed: int = 42
    # data
    dataset: str = "synthetic"
    data_dir: str | None = None
    source: str = "audio"  # "audio", or "images": Kaggle's images_original PNGs (the paper's input)
    clips_per_genre: int = 25
    sample_rate: int = 22050
    clip_seconds: float = 30.0
    min_clip_seconds: float = 4.0
    # tokens (section 2.2: 217 x 45 tokens of 4 s with about 1 s overlap)
    n_mels: int = 217
    n_fft: int = 2048
    hop_length: int = 1975
    n_tokens: int = 10
    token_frames: int = 45
    # model (section 2.1)
    conv_filters: tuple[int, ...] = (8, 16, 32)
    embedding_dim: int = 32
    attention_heads: int = 2
    attention_key_dim: int = 16
    pooling: str = "attention"
    token_pooling: str = "average"  # how the token CNN pools its maps: "average" or "max"
    # training (section 3.1: 6-fold cross-validation)
    folds: int = 6
    # "random" (the paper's stratified folds), "artist" (GTZAN: no artist in two folds) or
    # "fault-filtered" (GTZAN: Kereliuk et al.'s train/valid/test lists; `folds` is then unused)
    split: str = "random"
    metadata_url: str | None = None  # base URL of a GTZAN metadata mirror (default: the pinned public URLs)
    epochs: int = 50
    batch_size: int = 16
    learning_rate: float = 3e-3
    validation_fraction: float = 0.12
    early_stopping_start: int = 30
    early_stopping_patience: int = 10
    attention_warmup: int = 10  # epochs with uniform attention before it learns (see training)
    ablation: bool = False  # also train the same CNN with mean pooling on the same folds
    # analyses (section 3)
    equation_threshold: float = 0.5  # largest scale-free error of a listed genre equation
    equation_space: str = "full"  # "full" signature space or "pca"
    equation_pca_components: int = 3
    null_draws: int = 200  # random-embedding draws of the equations' null model
    examples_per_genre: int = 5  # clips per genre shown with their attention (3.4)
    recommendations: int = 5  # nearest pieces per query (3.5)
    # runtime only
    workers: int = 0
    run_dir: str | None = None
    verbose: int = 1

    def __post_init__(self) -> None:
        _check(self.dataset in DATASETS, "dataset", self.dataset, f"one of {DATASETS}")
        _check(self.pooling in POOLINGS, "pooling", self.pooling, f"one of {POOLINGS}")
        _check(self.token_pooling in TOKEN_POOLINGS, "token_pooling", self.token_pooling,
               f"one of {TOKEN_POOLINGS}")
        _check(self.equation_space in ("full", "pca"), "equation_space", self.equation_space,
               "'full' or 'pca'")
        _check(self.split in SPLITS, "split", self.split, f"one of {SPLITS}")
        _check(self.split == "random" or self.dataset == "gtzan", "split", self.split,
               "'random' for the synthetic dataset (artists and the fault-filtered lists exist "
               "only for GTZAN)")
        _check(self.source in SOURCES, "source", self.source, f"one of {SOURCES}")
        _check(self.source == "audio" or self.dataset == "gtzan", "source", self.source,
               "'audio' for the synthetic dataset (images come from Kaggle's GTZAN copy)")
        _check(self.folds >= 2, "folds", self.folds, "at least 2")
        _check(self.clips_per_genre >= self.folds, "clips_per_genre", self.clips_per_genre,
               f"at least folds={self.folds}")
        _check(self.n_tokens >= 1 and self.token_frames >= 1, "n_tokens/token_frames",
               (self.n_tokens, self.token_frames), "positive integers")
        _check(self.min_clip_seconds * self.sample_rate / self.hop_length >= self.token_frames - 1,
               "min_clip_seconds", self.min_clip_seconds, "long enough to fill one token")
        _check(0 < self.validation_fraction < 0.5, "validation_fraction",
               self.validation_fraction, "between 0 and 0.5")
        _check(self.dataset != "gtzan" or bool(self.data_dir), "data_dir", self.data_dir,
               "the folder holding GTZAN when dataset is 'gtzan' (for example data_dir=~/gtzan)")

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Spectrogram frames of a whole clip (centred STFT)."""
        return 1 + self.clip_samples // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["conv_filters"] = list(self.conv_filters)
        return out

    def result_params(self) -> dict[str, Any]:
        """The parameters that decide the results (runtime-only ones left out)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_KEYS}

    def key(self) -> str:
        """A short hash of `result_params`: two configs with the same key compute the same run."""
        blob = json.dumps(self.result_params(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def run_path(self) -> Path:
        """The run folder: `run_dir` (relative paths are taken from the project root) or runs/<profile>."""
        return paths.resolve(self.run_dir) if self.run_dir else paths.runs_dir() / self.profile

    def data_path(self) -> Path | None:
        """`data_dir` with ~ expanded, relative paths taken from the project root."""
        return paths.resolve(self.data_dir) if self.data_dir else None

    def replace(self, **changes: Any) -> "Config":
        return make_config(**{**self.to_dict(), **changes})


def recorded_params(stored: dict[str, Any]) -> dict[str, Any]:
    """A manifest's result parameters, with each parameter added to the code since the run was
    made at its default (the code then behaved as the default does)."""
    return {**json.loads(json.dumps(Config().result_params())), **stored}


def _check(ok: bool, name: str, value: Any, expected: str) -> None:
    if not ok:
        raise ValueError(f"Parameter {name}={value!r} is invalid: expected {expected}.")


def known_parameters() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def available_profiles() -> list[str]:
    return sorted(p.stem for p in paths.params_dir().glob("*.yaml"))


def make_config(**params: Any) -> Config:
    """Build a Config from keyword parameters, refusing unknown names with the list of known ones."""
    known = set(known_parameters())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {unknown}. Known parameters: {', '.join(sorted(known))}."
        )
    if "conv_filters" in params and params["conv_filters"] is not None:
        params["conv_filters"] = tuple(int(x) for x in params["conv_filters"])
    for name in ("seed", "clips_per_genre", "folds", "epochs", "batch_size", "workers"):
        if name in params and isinstance(params[name], str):
            params[name] = int(params[name])
    return Config(**params)


def load_profile(profile: str = "default", **overrides: Any) -> Config:
    """Read `params/<profile>.yaml` (or a YAML file path) and apply overrides; None overrides are ignored."""
    path = Path(profile)
    if path.suffix not in (".yaml", ".yml"):
        path = paths.params_dir() / f"{profile}.yaml"
    if not path.is_file():
        raise ValueError(
            f"Unknown profile {profile!r}: no file {path}. "
            f"Available profiles: {', '.join(available_profiles())} (or give a path to a YAML file)."
        )
    params = yaml.safe_load(path.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"Profile {path} must be a mapping of parameter: value, got {type(params).__name__}.")
    params.update({k: v for k, v in overrides.items() if v is not None})
    params.setdefault("profile", path.stem)
    return make_config(**params)
