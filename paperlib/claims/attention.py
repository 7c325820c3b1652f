"""Notebook 07's 'paper vs this run' rules: attention across genres (sections 3.4.1 and 3.4.2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from paperlib.analysis.attention import ENDING_TOKENS, SIMILARITY, FirstOccurrence
from paperlib.core.config import Config
from paperlib.core.results import AttentionResult, Claim

ALPHA = 0.05  # one-sided binomial tests
PAPER_EXAMPLES_PER_GENRE = 5  # "five random samples from each genre" (3.4.1)
RECOVERY_MIN = 0.5  # recovery must reach this share of correct clips ...
RECOVERY_CHANCE_FACTOR = 2  # ... and exceed this multiple of chance
ENDING_GENRES = ("classical", "blues")  # "particularly in classical and blues" (3.4.2)


def examples_claim(example_genres: Sequence[str]) -> Claim:
    """Five examples per genre, as the paper listened to."""
    per_genre = pd.Series(list(example_genres), dtype=object).value_counts()
    low, high = per_genre.min(), per_genre.max()
    counts = f"{low}" if low == high else f"{low}–{high}"
    return Claim("3.4.1", "five random samples from each genre", "5 per genre",
                 f"{counts} per genre ({len(example_genres)} clips)",
                 bool(low == high == PAPER_EXAMPLES_PER_GENRE))


def recovery_holds(recovery: float, chance: float) -> bool:
    """Attention finds the planted moment: recovery >= 0.5 and more than twice chance."""
    return bool(recovery >= RECOVERY_MIN and recovery > RECOVERY_CHANCE_FACTOR * chance)


def recovery_claim(overall: pd.Series | None, dataset: str) -> Claim:
    """`overall`: the 'overall' row of `analysis.attention.recovery` (None: no ground truth)."""
    if overall is None:
        this_run, holds = f"no ground truth in {dataset}", None
    else:
        this_run = (f"recovery {overall['recovery']:.2f} vs chance {overall['chance']:.2f} "
                    f"({int(overall['clips'])} correct clips)")
        holds = recovery_holds(overall["recovery"], overall["chance"])
    return Claim("3.4.2", "attention finds the genre-defining moment (this companion's check)",
                 "not measurable (no ground truth; judged by listening)", this_run, holds)


def above_chance(share: float, chance: float, p: float) -> bool:
    """A share above chance, significantly (one-sided p < ALPHA)."""
    return bool(share > chance and p < ALPHA)


def first_occurrence_claim(first: FirstOccurrence, p: float, similarity: float = SIMILARITY) -> Claim:
    """Top token is the earliest of its similar-token group more often than chance (None: no group)."""
    holds = None if first.clips == 0 else above_chance(first.share, first.chance, p)
    return Claim("3.4.2", "the first occurrence of similar patterns is the most important",
                 "observed by listening",
                 f"top token first of its group in {first.share:.2f} of {first.clips} clips vs chance "
                 f"{first.chance:.2f} (p = {p:.2g}, similarity >= {similarity})", holds)


def ending_claim(endings: pd.DataFrame, last: int) -> Claim:
    """`endings`: `analysis.attention.ending_share`; holds if every ENDING_GENRES peak share is
    significantly above chance (None unless both genres are present)."""
    focus = [g for g in ENDING_GENRES if g in endings.index]
    holds = (bool(all(above_chance(endings.loc[g, "share"], endings.loc[g, "chance"], endings.loc[g, "p"])
                      for g in focus)) if len(focus) == len(ENDING_GENRES) else None)
    this_run = "; ".join(f"{g}: {endings.loc[g, 'share']:.2f} of peaks in the last {last} tokens vs "
                         f"{endings.loc[g, 'chance']:.2f} (p = {endings.loc[g, 'p']:.2g})" for g in focus)
    return Claim("3.4.2", "endings matter, particularly in classical and blues", "observed by listening",
                 this_run, holds)


def attention_claims(example_genres: Sequence[str], recovery_overall: pd.Series | None,
                     first: FirstOccurrence, first_p: float, endings: pd.DataFrame, *,
                     dataset: str, last: int, similarity: float = SIMILARITY) -> list[Claim]:
    """Notebook 07's claims from its examples' genres, recovery, first-occurrence and endings results."""
    return [examples_claim(example_genres), recovery_claim(recovery_overall, dataset),
            first_occurrence_claim(first, first_p, similarity), ending_claim(endings, last)]


def attention_result(*, examples: pd.DataFrame, recovered: pd.DataFrame | None,
                     first: FirstOccurrence, first_p: float, endings: pd.DataFrame,
                     config: Config) -> AttentionResult:
    """Notebook 07's typed result from its example table (`attention.example_table`), recovery by
    genre (`attention.recovery`, None without a planted truth), the first-occurrence test and the
    endings table; with its claims. NaN (nothing to count) is stored as None with its reason."""
    missing: dict[str, str] = {}

    def number(name: str, value: float, reason: str) -> float | None:
        if value is None or math.isnan(float(value)):
            missing[name] = reason
            return None
        return float(value)

    overall = recovered.loc["overall"] if recovered is not None else None
    if overall is not None:
        none_correct = "no correctly classified clip to look at"
        recovery = {"recovery": number("recovery", overall["recovery"], none_correct),
                    "recovery_chance": number("recovery_chance", overall["chance"], none_correct),
                    "recovery_clips": int(overall["clips"])}
        by_genre = {str(g): None if math.isnan(v) else float(v)
                    for g, v in recovered["recovery"].drop("overall").items()}
    else:
        recovery = {"recovery": None, "recovery_chance": None, "recovery_clips": None}
        missing.update({name: f"the {config.dataset} dataset has no planted moment" for name in recovery})
        by_genre = {}
    no_groups = "no clip has a group of similar tokens"
    claims = attention_claims(examples["genre"], overall, first, first_p, endings,
                              dataset=config.dataset, last=ENDING_TOKENS, similarity=SIMILARITY)
    return AttentionResult(
        **recovery, recovery_by_genre=by_genre,
        first_occurrence_share=number("first_occurrence_share", first.share, no_groups),
        first_occurrence_chance=number("first_occurrence_chance", first.chance, no_groups),
        first_occurrence_clips=first.clips,
        first_occurrence_p=number("first_occurrence_p", first_p, no_groups),
        first_occurrence_similarity=SIMILARITY,
        ending_share={str(g): float(v) for g, v in endings["share"].items()},
        ending_p={str(g): float(v) for g, v in endings["p"].items()},
        ending_chance=ENDING_TOKENS / config.n_tokens, examples=examples["track_id"].tolist(),
        claims=claims, missing=missing)
