"""Attention scores across genres (paper section 3.4): examples, peaks, and the paper's observations
made measurable (recovery of a planted moment, "first occurrence" of similar patterns, endings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.data.features import token_seconds
from paperlib.data.genres import GENRES

SIMILARITY = 0.9  # cosine threshold for "similar patterns" within a clip (first-occurrence analysis)
ENDING_TOKENS = 2  # the last tokens that count as a clip's ending (endings analysis)


def _check_attention(attention: np.ndarray) -> np.ndarray:
    attention = np.asarray(attention, dtype=float)
    if attention.ndim != 2 or attention.shape[1] < 1 or attention.shape[0] < 1:
        raise ValueError(f"Expected attention of shape (clips, n_tokens), got {attention.shape}.")
    return attention


def _check_rows(name: str, values: Sequence, clips: int) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (clips,):
        raise ValueError(f"Expected {name} with one entry per clip ({clips},), got shape {values.shape}.")
    return values


def sample_examples(tracks: pd.DataFrame, *, per_genre: int, seed: int) -> np.ndarray:
    """Row indices of `per_genre` random clips of each genre (all of a smaller genre), genre by genre.

    Seeded with numpy's default_rng(seed); genres in sorted order, rows sorted within a genre."""
    if per_genre < 1:
        raise ValueError(f"per_genre must be a positive integer, got {per_genre}.")
    if "genre" not in tracks:
        raise ValueError(f"Expected a track table with a 'genre' column, got columns {list(tracks.columns)}.")
    rng = np.random.default_rng(seed)
    genres = tracks["genre"].to_numpy()
    chosen = []
    for genre in sorted(set(genres)):
        rows = np.flatnonzero(genres == genre)
        chosen.append(np.sort(rng.choice(rows, size=min(per_genre, len(rows)), replace=False)))
    return np.concatenate(chosen).astype(int)


def mean_attention_by_genre(attention: np.ndarray, labels: np.ndarray,
                            genres: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean attention weight of each token position, genre by genre (rows: genres present)."""
    attention = _check_attention(attention)
    labels = _check_rows("labels", labels, len(attention)).astype(int)
    names = _genre_names(labels, genres)
    table = pd.DataFrame(attention).groupby(names).mean()
    table.index.name, table.columns.name = "genre", "token"
    return table


def _genre_names(labels: np.ndarray, genres: Sequence[str] | None) -> np.ndarray:
    if genres is None:
        genres = GENRES
    if labels.min() < 0 or labels.max() >= len(genres):
        raise ValueError(f"Labels must lie in 0..{len(genres) - 1}, got {labels.min()}..{labels.max()}.")
    return np.asarray(genres)[labels]


def peak_tokens(attention: np.ndarray) -> np.ndarray:
    """The highest-attention token of each clip."""
    return _check_attention(attention).argmax(axis=1)


def peak_table(attention: np.ndarray, labels: np.ndarray,
               genres: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each genre's clips whose highest-attention token is at each position."""
    attention = _check_attention(attention)
    labels = _check_rows("labels", labels, len(attention)).astype(int)
    names = _genre_names(labels, genres)
    peaks = pd.Categorical(peak_tokens(attention), categories=range(attention.shape[1]))
    table = pd.crosstab(pd.Series(names, name="genre"), pd.Series(peaks, name="token"),
                        normalize="index", dropna=False)
    return table


def parse_tokens(value: object) -> list[int]:
    """A motif_tokens entry ("3;4", "3" or 3) as a list of token indices."""
    text = str(value).strip()
    if not text or text.lower() == "nan":
        raise ValueError(f"Expected token indices like '3;4', got {value!r}.")
    return [int(float(part)) for part in text.split(";")]


def recovery_hits(scores: np.ndarray, motif_tokens: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Per clip: whether the highest-scoring token covers the planted moment, and the chance of
    that for a random token (covering tokens / n_tokens)."""
    scores = _check_attention(scores)
    clips, n_tokens = scores.shape
    motif_tokens = _check_rows("motif_tokens", list(motif_tokens), clips)
    covering = [parse_tokens(v) for v in motif_tokens]
    if any(t < 0 or t >= n_tokens for tokens in covering for t in tokens):
        raise ValueError(f"motif_tokens must index tokens 0..{n_tokens - 1}.")
    hit = np.array([p in tokens for p, tokens in zip(peak_tokens(scores), covering)])
    return hit, np.array([len(tokens) / n_tokens for tokens in covering])


def recovery(attention: np.ndarray, motif_tokens: Sequence, correct: np.ndarray, *,
             genres: Sequence[str]) -> pd.DataFrame:
    """How often the peak token covers the planted moment, among correctly classified clips.

    recovery = share of those clips whose highest-attention token is one of their covering tokens;
    chance = mean over the same clips of (covering tokens / n_tokens). One row per genre, then
    'overall'; columns clips, recovered, recovery, chance (NaN where a genre has no correct clip)."""
    hit, chance = recovery_hits(attention, motif_tokens)
    clips = len(hit)
    correct = _check_rows("correct", correct, clips).astype(bool)
    genres = _check_rows("genres", genres, clips)

    def row(mask: np.ndarray) -> dict[str, float]:
        mask = mask & correct
        n = int(mask.sum())
        return {"clips": n, "recovered": int(hit[mask].sum()),
                "recovery": float(hit[mask].mean()) if n else np.nan,
                "chance": float(chance[mask].mean()) if n else np.nan}

    rows = {g: row(genres == g) for g in sorted(set(genres))}
    rows["overall"] = row(np.ones(clips, bool))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "genre"
    return table


@dataclass(frozen=True)
class FirstOccurrence:
    """Clips whose top token has >= 2 similar tokens; how often the top token is the earliest."""

    clips: int
    first: int
    share: float
    chance: float


def similar_groups(token_embeddings: np.ndarray, attention: np.ndarray, *,
                   similarity: float) -> list[np.ndarray]:
    """Per clip, the tokens whose embedding has cosine similarity >= `similarity` with the top token."""
    attention = _check_attention(attention)
    embeddings = np.asarray(token_embeddings, dtype=float)
    if embeddings.ndim != 3 or embeddings.shape[:2] != attention.shape:
        raise ValueError(f"Expected token embeddings of shape {attention.shape} + (dims,), "
                         f"got {embeddings.shape}.")
    if not -1.0 <= similarity <= 1.0:
        raise ValueError(f"similarity is a cosine threshold in [-1, 1], got {similarity}.")
    norms = np.linalg.norm(embeddings, axis=2, keepdims=True)
    unit = embeddings / np.maximum(norms, 1e-12)
    peaks = peak_tokens(attention)
    top = unit[np.arange(len(unit)), peaks]  # (clips, dims)
    cosine = np.einsum("ctd,cd->ct", unit, top)
    groups = []
    for c, p in enumerate(peaks):
        group = np.flatnonzero(cosine[c] >= similarity - 1e-9)
        groups.append(group if p in group else np.sort(np.append(group, p)))
    return groups


def first_occurrence_share(token_embeddings: np.ndarray, attention: np.ndarray, *,
                           similarity: float) -> FirstOccurrence:
    """The paper's "first occurrence of similar patterns is the most important", measured.

    A clip's group of similar patterns: the tokens with cosine similarity >= `similarity` to its
    top-attention token. Among clips whose group has >= 2 tokens: the share where the top token is
    the group's earliest, against the chance share (mean of 1 / group size)."""
    attention = _check_attention(attention)
    groups = similar_groups(token_embeddings, attention, similarity=similarity)
    peaks = peak_tokens(attention)
    eligible = [(p, g) for p, g in zip(peaks, groups) if len(g) >= 2]
    if not eligible:
        return FirstOccurrence(0, 0, np.nan, np.nan)
    first = sum(int(p == g.min()) for p, g in eligible)
    chance = float(np.mean([1.0 / len(g) for _, g in eligible]))
    return FirstOccurrence(len(eligible), first, first / len(eligible), chance)


def above_chance_p(successes: int, trials: int, chance: float) -> float:
    """One-sided binomial p-value that the success rate exceeds `chance` (NaN with no trials)."""
    if trials == 0:
        return float("nan")
    if not 0 < chance < 1 or not 0 <= successes <= trials:
        raise ValueError(f"Expected 0 <= successes <= trials and chance in (0, 1), "
                         f"got {successes}, {trials}, {chance}.")
    from scipy.stats import binomtest

    return float(binomtest(int(successes), int(trials), chance, alternative="greater").pvalue)


def first_occurrence_table(token_embeddings: np.ndarray, attention: np.ndarray, *,
                           thresholds: Sequence[float]) -> pd.DataFrame:
    """first_occurrence_share at several similarity thresholds, with one-sided binomial p-values."""
    rows = {}
    for threshold in thresholds:
        r = first_occurrence_share(token_embeddings, attention, similarity=threshold)
        rows[float(threshold)] = {"clips": r.clips, "first": r.first, "share": r.share, "chance": r.chance,
                                  "p": above_chance_p(r.first, r.clips, r.chance)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "similarity"
    return table


def ending_share(attention: np.ndarray, labels: np.ndarray, genres: Sequence[str], *,
                 last: int = 2) -> pd.DataFrame:
    """Per genre present: share of clips whose peak is among the last `last` tokens.

    Columns clips, in_ending, share, chance (= last / n_tokens) and p (one-sided binomial)."""
    attention = _check_attention(attention)
    n_tokens = attention.shape[1]
    if not 1 <= last < n_tokens:
        raise ValueError(f"last must be in 1..{n_tokens - 1}, got {last}.")
    labels = _check_rows("labels", labels, len(attention)).astype(int)
    names = _genre_names(labels, genres)
    in_ending = peak_tokens(attention) >= n_tokens - last
    chance = last / n_tokens
    rows = {}
    for genre in sorted(set(names)):
        mask = names == genre
        n, k = int(mask.sum()), int(in_ending[mask].sum())
        rows[genre] = {"clips": n, "in_ending": k, "share": k / n, "chance": chance,
                       "p": above_chance_p(k, n, chance)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "genre"
    return table


def example_table(tracks: pd.DataFrame, oof: dict[str, np.ndarray], rows: np.ndarray, config: Config,
                  genres: Sequence[str] | None = None) -> pd.DataFrame:
    """The examples: genre, prediction, peak token and its window (and the planted moment if known)."""
    rows = np.asarray(rows, dtype=int)
    if rows.size and (rows.min() < 0 or rows.max() >= len(tracks)):
        raise ValueError(f"Rows must index the {len(tracks)} clips, got {rows.min()}..{rows.max()}.")
    if genres is None:
        genres = GENRES
    attention = _check_attention(oof["attention"])[rows]
    predicted = oof["genre"][rows].argmax(axis=1)
    peaks = attention.argmax(axis=1)
    windows = token_seconds(config)[peaks]
    table = pd.DataFrame({
        "row": rows, "track_id": tracks["track_id"].to_numpy()[rows],
        "genre": tracks["genre"].to_numpy()[rows],
        "predicted": np.asarray(genres)[predicted],
        "correct": predicted == tracks["label"].to_numpy()[rows],
        "peak_token": peaks, "peak_weight": attention.max(axis=1),
        "peak_start_s": windows[:, 0], "peak_end_s": windows[:, 1],
    })
    if "motif_tokens" in tracks:
        motif = tracks["motif_tokens"].to_numpy()[rows]
        table["motif_tokens"] = [str(v) for v in motif]
        table["peak_in_moment"] = [p in parse_tokens(v) for p, v in zip(peaks, motif)]
    return table
