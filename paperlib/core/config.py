"""One typed configuration for a run: defaults, YAML profiles, `--set` overrides and their checks.

`Config` is a frozen pydantic model, one field per parameter with its type, default and help.
Values from YAML or the command line are coerced to the declared type ("3e-3" -> 0.003,
"8,16,32" -> (8, 16, 32)); every refusal is a ValueError naming each bad parameter, the value
given and what is expected.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from paperlib.core import paths

Dataset = Literal["synthetic", "gtzan"]
Pooling = Literal["attention", "mean"]
TokenPooling = Literal["average", "max"]
Split = Literal["random", "artist", "fault-filtered"]
Source = Literal["audio", "images"]
EquationSpace = Literal["full", "pca"]
LrSchedule = Literal["constant", "cosine"]
Monitor = Literal["val_loss", "val_accuracy"]
Trainer = Literal["one", "vector"]
DATASETS: tuple[str, ...] = get_args(Dataset)
POOLINGS: tuple[str, ...] = get_args(Pooling)
TOKEN_POOLINGS: tuple[str, ...] = get_args(TokenPooling)
SPLITS: tuple[str, ...] = get_args(Split)
SOURCES: tuple[str, ...] = get_args(Source)
EQUATION_SPACES: tuple[str, ...] = get_args(EquationSpace)
# Parameters that change how fast or where a run goes, never what it computes.
RUNTIME_KEYS = frozenset({"profile", "workers", "run_dir"})
# Where the data and metadata come from, not what they are: the dataset fingerprint decides the
# audio, and the metadata files and the feature table are checked against pinned SHA-256 sums
# whatever their URL.
LOCATION_KEYS = frozenset({"data_dir", "metadata_url", "features_url"})


def _split_list(value: Any) -> Any:
    """A text such as "8,16,32", "8 16 32" or "[8, 16, 32]" -> ["8", "16", "32"]; else unchanged."""
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value.strip().strip("()[]")) if part]
    return value


IntList = Annotated[tuple[Annotated[int, Field(ge=1)], ...], BeforeValidator(_split_list)]


def _p(default: Any, description: str, **constraints: Any) -> Any:
    return Field(default, description=description, **constraints)


class Config(BaseModel):
    """Everything a run depends on; the paper's values are the defaults (section 2.2)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    profile: str = _p("default", "the profile's name (params/<profile>.yaml); names runs/<profile>")
    seed: int = _p(42, "random seed of the synthetic data, the folds and the training", ge=0)
    # data
    dataset: Dataset = _p("synthetic", "synthetic (the embedded synthetic GTZAN) or gtzan (in data_dir)")
    data_dir: str | None = _p(None, "GTZAN's folder, for dataset gtzan (relative: from the project root)")
    source: Source = _p("audio", "audio, or images: Kaggle's images_original PNGs (the paper's input)")
    clips_per_genre: int = _p(25, "clips per genre of the synthetic dataset", ge=1)
    motif_db: float = _p(8.0, "synthetic: the signature moment's mean level above the mix in dB "
                              "(each clip within 2 dB of it; lower is harder to find)")
    decoys: int = _p(0, "synthetic: quieter slides (4 dB below the clip's moment) of the paired genre's "
                        "motif planted elsewhere in each clip of a confusable pair", ge=0, le=6)
    sample_rate: int = _p(22050, "audio sample rate in Hz", ge=1)
    clip_seconds: float = _p(30.0, "clip length in s (longer: centre kept; shorter: padded)", gt=0)
    min_clip_seconds: float = _p(4.0, "shortest usable clip in seconds (must fill one token)", gt=0)
    # tokens (section 2.2: 217 x 45 tokens of 4 s with about 1 s overlap)
    n_mels: int = _p(217, "mel bands of the spectrogram (a token's height)", ge=1)
    n_fft: int = _p(2048, "STFT window length in samples", ge=1)
    hop_length: int = _p(1975, "STFT hop in samples", ge=1)
    n_tokens: int = _p(10, "tokens cut from each clip (3 at least: overlaps, endings)", ge=3)
    token_frames: int = _p(45, "spectrogram frames per token (a token's width)", ge=1)
    # model (section 2.1)
    conv_filters: IntList = _p((8, 16, 32), "filters of the token CNN's three convolution layers",
                               min_length=3, max_length=3)
    embedding_dim: int = _p(32, "size of a token's embedding", ge=1)
    attention_heads: int = _p(2, "heads of the self-attention over tokens", ge=1)
    attention_key_dim: int = _p(16, "key size of each attention head", ge=1)
    attention_mix: float = _p(0.25, "share of the self-attention's output in the residual that the attention "
                                    "scores read (1: the usual residual; lower: each token's score sees more "
                                    "of its own embedding; 0.25 chosen in the recipe study, see notebook 03)",
                              ge=0, le=1)
    pooling: Pooling = _p("attention", "how token embeddings become the signature: attention or mean")
    token_pooling: TokenPooling = _p("average", "how the token CNN pools its maps: average or max")
    batch_norm: bool = _p(True, "batch normalisation after each convolution of the token CNN (the "
                                "paper does not say; folds converge more often with it, see notebook 03)")
    # training (section 3.1: 6-fold cross-validation)
    folds: int = _p(6, "cross-validation folds", ge=2)
    split: Split = _p("random", "random (the paper's folds), artist (GTZAN: each artist in one fold) or "
                                "fault-filtered (GTZAN: Kereliuk et al.'s lists, folds unused)")
    metadata_url: str | None = _p(None, "base URL of a GTZAN metadata mirror (default: the pinned URLs)")
    features_url: str | None = _p(None, "base URL of a mirror of GTZAN's feature table "
                                        "features_30_sec.csv (default: the pinned URLs)")
    trainer: Trainer = _p("one", "how a run's models train: one (one model at a time, any Keras backend) or "
                                 "vector (all models in one compiled step, Keras on JAX: the GPU path)")
    epochs: int = _p(50, "training epochs per fold at most (early stopping may end sooner)", ge=1)
    batch_size: int = _p(16, "clips per training batch", ge=1)
    learning_rate: float = _p(3e-3, "Adam's learning rate (the peak of a schedule)", gt=0)
    # the training recipe beyond the paper (see model.recipe); each option is off at its default
    lr_schedule: LrSchedule = _p("constant", "learning rate after the warm-up: constant, or cosine "
                                             "(decays to 0 at `epochs`)")
    lr_warmup_epochs: int = _p(0, "epochs of linear learning-rate warm-up before the schedule", ge=0)
    weight_decay: float = _p(0.0, "AdamW's decoupled weight decay (0: Adam)", ge=0)
    clip_norm: float = _p(0.0, "clip the gradients to this global norm (0: no clipping)", ge=0)
    label_smoothing: float = _p(0.0, "label smoothing of the training targets", ge=0, lt=1)
    mixup: float = _p(0.0, "mixup of training clips in pairs, Beta(a, a) with this a (0: off)", ge=0)
    time_mask: int = _p(0, "SpecAugment: mask up to this many frames of each training token (0: off)", ge=0)
    freq_mask: int = _p(0, "SpecAugment: mask up to this many mel bands of each training token (0: off)",
                        ge=0)
    early_stopping_monitor: Monitor = _p("val_accuracy", "what early stopping and the kept epoch go by: "
                                                         "val_accuracy (highest, ties by the lowest loss) "
                                                         "or val_loss (lowest)")
    validation_fraction: float = _p(0.12, "share of a fold's training clips held out for early stopping",
                                    gt=0, lt=0.5)
    early_stopping_start: int = _p(20, "epochs before early stopping watches the validation score", ge=0)
    early_stopping_patience: int = _p(10, "epochs without a better validation score before stopping", ge=0)
    attention_warmup: int = _p(20, "epochs with uniform attention before it learns (see "
                                   "model.training_state.ModelSpec.warmup)", ge=0)
    restart_below: float = _p(0.0, "a model whose validation accuracy never reached this in its "
                                    "training is trained again from another seed (0: never)",
                              ge=0, le=1)
    restarts: int = _p(2, "restarts per model at most (see restart_below)", ge=0)
    ablation: bool = _p(False, "also train the same CNN with mean pooling on the same folds")
    # analyses (section 3)
    equation_threshold: float = _p(0.5, "largest scale-free error of a listed genre equation", gt=0)
    equation_space: EquationSpace = _p("full", "space of the genre equations: full signature space or pca")
    equation_pca_components: int = _p(3, "principal components of the pca equation space", ge=1)
    null_draws: int = _p(200, "random-embedding draws of the equations' null model", ge=1)
    examples_per_genre: int = _p(5, "clips per genre shown with their attention (3.4)", ge=1)
    recommendations: int = _p(5, "nearest pieces per query (3.5)", ge=1)
    # runtime only
    workers: int = _p(0, "parallel workers (0: every core this process may use)", ge=0)
    run_dir: str | None = _p(None, "the run folder (default runs/<profile>; relative: from the project root)")

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"Unknown parameter(s) {unknown}. "
                             f"Known parameters: {', '.join(sorted(type(self).model_fields))}.")
        try:
            super().__init__(**params)
        except ValidationError as exc:
            raise ValueError(_explain(exc, params)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"A Config is immutable: use config.replace({name}=...) for another one.")

    @model_validator(mode="after")
    def _check_together(self) -> Config:
        """The checks that involve several parameters, all reported at once."""
        problems = [_problem(name, value, expected) for ok, name, value, expected in (
            (self.split == "random" or self.dataset == "gtzan", "split", self.split,
             "'random' for the synthetic dataset (artists and the fault-filtered lists exist only "
             "for GTZAN)"),
            (self.source == "audio" or self.dataset == "gtzan", "source", self.source,
             "'audio' for the synthetic dataset (images come from Kaggle's GTZAN copy)"),
            (self.dataset == "synthetic" or (self.decoys, self.motif_db) == (0, 8.0), "decoys and motif_db",
             (self.decoys, self.motif_db), "their defaults (0, 8.0) for GTZAN (they shape the synthetic data)"),
            (self.clips_per_genre >= self.folds, "clips_per_genre", self.clips_per_genre,
             f"at least folds={self.folds}"),
            (self.min_clip_seconds * self.sample_rate / self.hop_length >= self.token_frames - 1,
             "min_clip_seconds", self.min_clip_seconds, "long enough to fill one token"),
            (self.dataset != "gtzan" or bool(self.data_dir), "data_dir", self.data_dir,
             "the folder holding GTZAN when dataset is 'gtzan' (for example data_dir=~/gtzan)"),
        ) if not ok]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Spectrogram frames of a whole clip (centred STFT)."""
        return 1 + self.clip_samples // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, JSON-able (tuples as lists)."""
        return self.model_dump(mode="json")

    def result_params(self) -> dict[str, Any]:
        """The parameters that decide the results (runtime and location ones left out)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_KEYS | LOCATION_KEYS}

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

    def replace(self, **changes: Any) -> Config:
        """A copy with some parameters changed, validated again."""
        return Config(**{**self.model_dump(), **changes})


def _problem(name: str, value: Any, expected: str) -> str:
    return f"Parameter {name}={value!r} is invalid: expected {expected}."


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_PHRASES = {int: "an integer (int)", float: "a number (float)", bool: "true or false (bool)",
            str: "a text (str)"}


def _range(name: str) -> str:
    """The declared bounds of a parameter, e.g. ">= 2" or "> 0 and < 0.5" ("" when none)."""
    signs = {at.Ge: (">=", "ge"), at.Gt: (">", "gt"), at.Le: ("<=", "le"), at.Lt: ("<", "lt")}
    bounds = [f"{signs[type(m)][0]} {getattr(m, signs[type(m)][1])}"
              for m in Config.model_fields[name].metadata if type(m) in signs]
    return " and ".join(bounds)


def _base(name: str) -> tuple[type, bool]:
    """A scalar parameter's type and whether it may be null."""
    annotation = Config.model_fields[name].annotation
    options = get_args(annotation) or (annotation,)
    return next(t for t in (bool, int, float, str) if t in options), type(None) in options


def _type_name(name: str) -> str:
    """A parameter's type as the `params` table shows it: "int >= 2", "random|artist|..."."""
    annotation = Config.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return "|".join(get_args(annotation))
    if name == "conv_filters":
        return "int,int,int (each >= 1)"
    base, optional = _base(name)
    return " ".join(filter(None, [base.__name__ + (" or null" if optional else ""), _range(name)]))


def _expected(name: str, error_type: str) -> str:
    """What a parameter accepts, in words (with its bounds when those were broken)."""
    annotation = Config.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return f"one of {get_args(annotation)}"
    if name == "conv_filters":
        return "three positive integers, as a list or comma-separated (for example 8,16,32)"
    base, optional = _base(name)
    phrase = _PHRASES[base] + (" or null" if optional else "")
    return f"{phrase} {_range(name)}" if error_type in _RANGE_ERRORS else phrase


def _explain(exc: ValidationError, params: dict[str, Any]) -> str:
    """One sentence per bad parameter (in declaration order), from pydantic's errors."""
    by_name: dict[str, str] = {}
    together = []
    for error in exc.errors():
        if not error["loc"]:  # the model validator's message, already worded
            together.append(str(error.get("ctx", {}).get("error", error["msg"])))
        else:
            name = str(error["loc"][0])
            by_name.setdefault(name, _problem(name, params.get(name), _expected(name, error["type"])))
    return "\n".join([by_name[n] for n in Config.model_fields if n in by_name] + together)


# What the code did before a parameter existed, where its default now does something else: a run
# made then is read back with these values.
BEFORE_THE_PARAMETER: dict[str, Any] = {"attention_mix": 1.0}


def recorded_params(stored: dict[str, Any]) -> dict[str, Any]:
    """A manifest's result parameters, with each parameter added to the code since the run was
    made at what the code then did (its default, or BEFORE_THE_PARAMETER's value), and those that
    are no result parameters (runtime and location ones) left out."""
    dropped = RUNTIME_KEYS | LOCATION_KEYS
    return {**Config().result_params(), **BEFORE_THE_PARAMETER,
            **{k: v for k, v in stored.items() if k not in dropped}}


def known_parameters() -> list[str]:
    return list(Config.model_fields)


def parameter_rows(config: Config | None = None) -> list[dict[str, str]]:
    """One row per parameter: name, type, default, its value in `config` ("" when it is the
    default), help."""
    config = config or Config()
    default, chosen = Config().to_dict(), config.to_dict()
    return [{"parameter": name, "type": _type_name(name), "default": _show(default[name]),
             "value": _show(chosen[name]) if chosen[name] != default[name] else "",
             "help": field.description or ""}
            for name, field in Config.model_fields.items()]


def _show(value: Any) -> str:
    """A value as one would write it after --set NAME=."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def available_profiles() -> list[str]:
    return sorted(p.stem for p in paths.params_dir().glob("*.yaml"))


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
    return Config(**params)
