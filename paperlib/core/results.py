"""What each notebook records in `metrics.json`: one typed result per step, validated when written
and read back typed (by the book, the splits page and the tests).

Strict JSON: no NaN or Infinity anywhere. A value a run cannot give is `None`, and every `None`
field names its reason in `missing`. `SCHEMA_VERSION` is stored in the manifest; a run folder of
another version is refused with a message saying what to do.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    computed_field,
    model_validator,
)

SCHEMA_VERSION = 3  # 1: metrics.json as hand-built dictionaries (before typed results);
# 2: models trained one process per fold (no best_epoch or restarts in done.json)

Verdict = Literal["holds", "does not hold", "not testable here"]
VERDICTS: tuple[str, ...] = get_args(Verdict)


class Record(BaseModel):
    """A strict, immutable record: unknown keys, NaN and Infinity are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def verdict_of(holds: bool | None) -> Verdict:
    """A claim's verdict from whether it holds (None: not testable with this run)."""
    return {True: "holds", False: "does not hold", None: "not testable here"}[holds]


class Claim(Record):
    """One 'paper vs this run' claim: what the paper says, what the run measured, and whether it
    holds (computed by the caller from measured numbers; None: not testable). Its verdict follows
    from `holds`; stored as it is, with the verdict, in a step's result. The claims modules write
    it positionally: Claim(section, claim, paper, this_run, holds[, key])."""

    section: str
    claim: str
    paper: str
    this_run: str
    holds: bool | None
    key: str = ""  # the same claim in another notebook has the same key ("": none)

    def __init__(self, *args: Any, **fields: Any) -> None:
        names = ("section", "claim", "paper", "this_run", "holds", "key")
        if len(args) > len(names):
            raise TypeError(f"Claim takes at most {len(names)} positional fields {names}, got {len(args)}.")
        super().__init__(**dict(zip(names, args)), **fields)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.holds)

    @model_validator(mode="before")
    @classmethod
    def _stored_verdict_agrees(cls, data: Any) -> Any:
        """A stored claim carries its verdict: accept it when it is the one `holds` gives."""
        if isinstance(data, dict) and "verdict" in data:
            data = dict(data)
            verdict = data.pop("verdict")
            if verdict != verdict_of(data.get("holds")):
                raise ValueError(f"verdict {verdict!r} does not follow from holds={data.get('holds')!r}")
        return data


class StepResult(Record):
    """The numbers and claims of one notebook; `missing` maps each None field to its reason."""

    step: ClassVar[str]
    claims: list[Claim]
    missing: dict[str, str] = {}

    @model_validator(mode="after")
    def _every_none_has_a_reason(self) -> "StepResult":
        empty = {name for name in type(self).model_fields if getattr(self, name) is None}
        unexplained, stray = empty - set(self.missing), set(self.missing) - empty
        if unexplained:
            raise ValueError(f"{sorted(unexplained)} are None without a reason in `missing`")
        if stray:
            raise ValueError(f"`missing` gives reasons for {sorted(stray)}, which have values")
        return self


class DataResult(StepResult):
    step: ClassVar[str] = "01_data"
    dataset: str
    source: str
    clips: int
    skipped: int
    skipped_clips: dict[str, str]
    left_out_by_split: int
    listed_but_missing: list[str]
    clips_per_genre: dict[str, int]
    image_rows: int
    image_frames: int
    token_shape: list[int]
    token_seconds: float
    token_overlap_seconds: float
    token_start_frames: list[int]
    cache_hit: bool
    seconds: float
    fingerprint: str
    moment_covered_by_one_token: float | None
    chance_top1_recovery: float | None


class ModelResult(StepResult):
    step: ClassVar[str] = "02_model"
    trainable_parameters: int
    frozen_parameters: int
    parameters_by_layer: dict[str, int]
    output_shapes: dict[str, list[int]]
    attention_sum_max_error: float
    roundtrip_max_difference: float


class TrainingResult(StepResult):
    step: ClassVar[str] = "03_cv_training"
    oof_accuracy: float
    fold_accuracies: list[float]
    fold_accuracy_mean: float
    fold_accuracy_std: float | None
    fold_accuracy_min: float
    epochs_run: list[int]
    training_seconds: float
    mfcc_logistic_accuracy: float
    chance: float
    folds: int
    held_out_clips: int
    split: str
    final_model_in_sample_accuracy: float | None
    mean_pool_oof_accuracy: float | None


class ConfusionResult(StepResult):
    step: ClassVar[str] = "04_confusion"
    accuracy: float
    per_genre_recall: dict[str, float]
    per_genre_f1: dict[str, float]
    top_confused_pairs: list[tuple[str, str, int]]
    mfcc_accuracy: float
    mcnemar_p_mfcc: float
    mean_pool_accuracy: float | None
    mcnemar_p_mean: float | None


class PcaResult(StepResult):
    step: ClassVar[str] = "05_pca"
    explained_variance_2d: list[float]
    explained_variance_3d: list[float]
    mean_distance_to_others: dict[str, float]
    mean_pairwise_distance: float
    farthest_two: list[str]
    farthest_two_2d: list[str]
    disco_pop_rank: int
    pop_disco_rank: int
    disco_pop_rank_2d: int


class PaperEquation(Record):
    equation: str
    stated_d_is_nearest: bool
    nearest_d: str
    error: float
    rank: int


class EquationsResult(StepResult):
    step: ClassVar[str] = "06_equations"
    space: str
    threshold: float
    n_equations_under_threshold: int
    top_equations: list[str]
    paper_equations: list[PaperEquation]
    null_draws: int
    null_random_mean: float
    null_random_p: float
    null_permutation_mean: float
    null_permutation_p: float
    nearest_genres: dict[str, list[str]]
    farthest_genres: dict[str, list[str]]


class AttentionResult(StepResult):
    step: ClassVar[str] = "07_attention_listening"
    recovery: float | None
    recovery_chance: float | None
    recovery_clips: int | None
    recovery_by_genre: dict[str, float | None]  # None: no correctly classified clip of the genre
    first_occurrence_share: float | None
    first_occurrence_chance: float | None
    first_occurrence_clips: int
    first_occurrence_p: float | None
    first_occurrence_similarity: float
    ending_share: dict[str, float]
    ending_p: dict[str, float]
    ending_chance: float
    examples: list[str]


class Recommendation(Record):
    query: str
    recommendations: list[str]


class RecommendationResult(StepResult):
    step: ClassVar[str] = "08_recommendations"
    precision_at_5: dict[str, float]
    chance: float
    chance_all_others: float
    mean_pooled_source: Literal["ablation", "attention_token_mean"]
    examples: list[Recommendation]
    examples_same_genre_share: float


class Recovery(Record):
    """Top-1 recovery of the planted moment by one account, with a 95% bootstrap interval."""

    clips: int
    recovery: float
    low: float
    high: float
    chance: float


class ExplanationsResult(StepResult):
    step: ClassVar[str] = "09_explanations"
    clips: int
    seconds: float  # computing the three accounts and the deletion curves
    gradient_steps: int
    random_orders: int
    recovery: dict[str, Recovery] | None  # by account; None: no planted moment (real data)
    tau_median: dict[str, float]  # median per-clip Kendall tau, by pair of accounts
    deletion_probability_area: dict[str, float]  # by account and "random order"
    deletion_accuracy_area: dict[str, float]
    attention_vs_random_p: float  # one-sided paired Wilcoxon: attention's areas lower
    occlusion_vs_attention_p: float  # one-sided: occlusion's areas lower than attention's


class BaselineAccuracy(Record):
    """A clip-statistics classifier under one split of the real GTZAN feature table."""

    classifier: str
    split: str
    clips: int  # held out
    accuracy: float  # mean over the fold seeds
    low: float  # 95% interval, resampling artists (clips without the artist index)
    high: float
    by_fold_seed: list[float]  # the accuracy of each fold seed


class PlacedClip(Record):
    """A clip with audio placed among the feature table's (notebook 10, a GTZAN run): the genre
    the real-statistics model, fitted without it and its artist, puts first, and the true one's rank."""

    track_id: str
    genre: str
    artist: str  # "" where the index names none
    predicted: str
    true_rank: int  # 1: predicted right
    top3: list[str]
    in_table: bool


ADDED_IN_ISSUE_22 = ("artist_out_top1", "artist_out_top3", "artist_out_artists", "placed_clips",
                     "placed_top1", "placed_top3", "placed_agreement")


class RealGtzanResult(StepResult):
    """Notebook 10: the paper's claims about real genres on Kaggle's GTZAN feature table (real
    GTZAN clip statistics, not the paper's model); None everywhere the table could not be had."""

    step: ClassVar[str] = "10_real_gtzan_statistics"
    clips: int | None
    statistics: int | None
    fold_seeds: list[int]
    baselines: list[BaselineAccuracy]
    leakage_drop: float | None  # logistic regression: random minus artist-grouped folds
    leakage_drop_low: float | None
    leakage_drop_high: float | None
    confusion_split: str | None
    per_genre_recall: dict[str, float] | None
    top_confused_pairs: list[tuple[str, str, int]] | None
    explained_variance_2d: list[float] | None
    explained_variance_3d: list[float] | None
    farthest_two: list[str] | None
    nearest_genres: dict[str, list[str]] | None
    farthest_genres: dict[str, list[str]] | None
    paper_equations: list[PaperEquation] | None
    n_equations_under_threshold: int | None
    null_random_p: float | None
    null_permutation_p: float | None
    run_split_accuracy: dict[str, float] | None  # dataset gtzan: the model and the statistics, same folds
    # the real-genre model of `paperlib similar` (logistic regression), each clip left out with its artist
    artist_out_top1: float | None  # the true genre first, over the whole table
    artist_out_top3: float | None  # among the 3 most likely
    artist_out_artists: int | None  # artists (folds) left out one at a time
    placed_clips: list[PlacedClip] | None  # dataset gtzan: clips read from audio, statistics computed here
    placed_top1: float | None
    placed_top3: float | None
    placed_agreement: float | None  # largest difference of their statistics from the table's rows
    # (relative to the value, for a mean the larger of value and spread; `clip_statistics.agreement`)

    @model_validator(mode="before")
    @classmethod
    def _recorded_before_issue_22(cls, data: Any) -> Any:
        """A record of an older version lacks the real-genre numbers: None, with the reason."""
        if isinstance(data, dict) and not any(name in data for name in ADDED_IN_ISSUE_22):
            why = "recorded by an older version of notebook 10: run it again"
            data = {**data, **dict.fromkeys(ADDED_IN_ISSUE_22),
                    "missing": {**data.get("missing", {}), **dict.fromkeys(ADDED_IN_ISSUE_22, why)}}
        return data


RESULTS: dict[str, type[StepResult]] = {cls.step: cls for cls in (
    DataResult, ModelResult, TrainingResult, ConfusionResult, PcaResult, EquationsResult,
    AttentionResult, RecommendationResult, ExplanationsResult, RealGtzanResult)}


def read_result(step: str, stored: Any, *, where: str) -> StepResult:
    """A stored step result, validated; ValueError saying what is wrong and what to do."""
    if step not in RESULTS:
        raise ValueError(f"{where}: unknown step {step!r}; the steps are {list(RESULTS)}.")
    try:
        return RESULTS[step].model_validate(stored)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise ValueError(f"{where}: the results of {step} do not match this version's schema "
                         f"({problems}). Run notebook {step} again.") from None
