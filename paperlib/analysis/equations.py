"""Genre equations A - B + C = D (paper 3.2.2): exhaustive search, scale-free errors, null models."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from paperlib.analysis.embeddings import (
    fit_pca,
    genre_embeddings,
    mean_pairwise_distance,
    pairwise_distances,
)
from paperlib.data.genres import GENRES

SPACES = ("full", "pca")

# The paper's three notable equations (section 3.2.2), as (A, B, C, D).
PAPER_EQUATIONS = (
    ("blues", "country", "disco", "rock"),
    ("disco", "metal", "rock", "pop"),
    ("disco", "reggae", "pop", "rock"),
)


def equation_text(a: str, b: str, c: str, d: str) -> str:
    return f"{a} - {b} + {c} = {d}"


def to_space(embeddings: np.ndarray, *, space: str, components: int) -> np.ndarray:
    """The genre embeddings in the search space: as they are ("full") or as PCA coordinates ("pca")."""
    embeddings = np.asarray(embeddings, dtype=float)
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if space == "full":
        return embeddings
    return fit_pca(embeddings, components=components).transform(embeddings)


def _triples(n: int) -> np.ndarray:
    return np.array(list(permutations(range(n), 3)))


def _search(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered triple (A, B, C), its nearest D outside {A, B, C} and the scale-free error."""
    n = len(points)
    if points.ndim != 2 or n < 4:
        raise ValueError(f"expected points (n >= 4, dim), got shape {points.shape}")
    triples = _triples(n)
    targets = points[triples[:, 0]] - points[triples[:, 1]] + points[triples[:, 2]]
    dist = np.sqrt(((targets[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    dist[np.arange(len(triples))[:, None], triples] = np.inf
    d = dist.argmin(1)
    scale = mean_pairwise_distance(pairwise_distances(points))
    return triples, d, dist[np.arange(len(triples)), d] / scale


def search(points: np.ndarray, *, names: tuple[str, ...] = GENRES) -> pd.DataFrame:
    """All n(n-1)(n-2) equations ranked by error: columns rank, a, b, c, d, error, equation.

    error = ||A - B + C - D|| / (mean pairwise distance between the points); D is the nearest point
    to A - B + C among those not in {A, B, C}. A and C commute, so each equation appears twice.
    """
    points = np.asarray(points, dtype=float)
    if len(names) != len(points):
        raise ValueError(f"expected {len(points)} names, got {len(names)}")
    triples, d, error = _search(points)
    order = np.argsort(error, kind="stable")
    table = pd.DataFrame({
        "a": [names[i] for i in triples[order, 0]], "b": [names[i] for i in triples[order, 1]],
        "c": [names[i] for i in triples[order, 2]], "d": [names[i] for i in d[order]],
        "error": error[order]})
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["equation"] = [equation_text(*row) for row in table[["a", "b", "c", "d"]].itertuples(index=False)]
    return table


def count_under(points: np.ndarray, *, threshold: float) -> int:
    """How many of the equations have an error under `threshold`."""
    return int((_search(np.asarray(points, dtype=float))[2] < threshold).sum())


def stated_equation(points: np.ndarray, table: pd.DataFrame, equation: tuple[str, str, str, str], *,
                    names: tuple[str, ...] = GENRES) -> dict[str, object]:
    """A given equation's error for its stated D, whether D is the nearest, and its rank.

    rank = 1 + the number of equations in `table` (from `search`) with a strictly smaller error.
    """
    unknown = [g for g in equation if g not in names]
    if unknown or len(set(equation)) != 4:
        raise ValueError(f"expected four distinct genres out of {names}, got {equation}")
    a, b, c, d = (names.index(g) for g in equation)
    points = np.asarray(points, dtype=float)
    scale = mean_pairwise_distance(pairwise_distances(points))
    error = float(np.linalg.norm(points[a] - points[b] + points[c] - points[d]) / scale)
    row = table[(table["a"] == equation[0]) & (table["b"] == equation[1]) & (table["c"] == equation[2])]
    return {"equation": equation_text(*equation), "stated_d_is_nearest": bool(row["d"].iloc[0] == equation[3]),
            "nearest_d": str(row["d"].iloc[0]), "error": error,
            "rank": int((table["error"].to_numpy() < error).sum()) + 1}


def random_null_counts(embeddings: np.ndarray, *, threshold: float, draws: int, seed: int,
                       space: str, components: int) -> np.ndarray:
    """Counts under threshold for Gaussian genre embeddings with the real per-dimension mean and std.

    `embeddings` are the real genre embeddings in signature space; each draw goes through the same
    space mapping (`to_space`) and search as the real ones.
    """
    embeddings = np.asarray(embeddings, dtype=float)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    mean, std = embeddings.mean(0), embeddings.std(0, ddof=1)
    counts = [count_under(to_space(rng.normal(mean, std, size=embeddings.shape), space=space,
                                   components=components), threshold=threshold) for _ in range(draws)]
    return np.array(counts)


def permutation_null_counts(signatures: np.ndarray, labels: np.ndarray, *, threshold: float, draws: int,
                            seed: int, space: str, components: int) -> np.ndarray:
    """Counts under threshold for genre means recomputed from randomly permuted clip labels."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    n_genres = int(labels.max()) + 1
    counts = [count_under(to_space(genre_embeddings(signatures, rng.permutation(labels), n_genres=n_genres),
                                   space=space, components=components), threshold=threshold)
              for _ in range(draws)]
    return np.array(counts)


def p_value(observed: float, null: np.ndarray) -> float:
    """One-sided Monte-Carlo p-value: (1 + #draws with count >= observed) / (1 + draws)."""
    null = np.asarray(null)
    if null.ndim != 1 or not len(null):
        raise ValueError(f"expected a non-empty 1-d array of null counts, got shape {null.shape}")
    return float((1 + (null >= observed).sum()) / (1 + len(null)))


@dataclass(frozen=True)
class EquationStudy:
    """Section 3.2.2 on one set of genre embeddings: the genres as `points` of the search space,
    every equation ranked (`table`), the paper's three (`stated_equation` dicts), the count under
    the threshold and both null models with their p-values."""

    points: np.ndarray
    table: pd.DataFrame
    paper_equations: list[dict[str, object]]
    observed: int
    null_random: np.ndarray
    null_permutation: np.ndarray
    null_random_p: float
    null_permutation_p: float


def study_equations(embeddings: np.ndarray, clip_points: np.ndarray, labels: np.ndarray, *,
                    threshold: float, draws: int, seed: int, space: str,
                    components: int) -> EquationStudy:
    """The search, the paper's equations and both null models (seeds `seed` and `seed + 1`) for
    the genre `embeddings`, the means of the clips' `clip_points` by label."""
    points = to_space(embeddings, space=space, components=components)
    table = search(points)
    observed = int((table["error"] < threshold).sum())
    options = dict(threshold=threshold, draws=draws, space=space, components=components)
    null_random = random_null_counts(embeddings, seed=seed, **options)
    null_permutation = permutation_null_counts(clip_points, labels, seed=seed + 1, **options)
    return EquationStudy(points, table, [stated_equation(points, table, e) for e in PAPER_EQUATIONS],
                         observed, null_random, null_permutation, p_value(observed, null_random),
                         p_value(observed, null_permutation))
