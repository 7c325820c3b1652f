"""Verdicts of notebook 06 (genre equations, paper 3.2.2, and nearest genres, paper 3.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.results import Claim, EquationsResult
from paperlib.data.genres import GENRES

# A null-model p-value under this level counts as "more than chance".
SIGNIFICANCE = 0.05
# Paper 3.3: each genre's two nearest genres, and two farthest, as the paper lists them.
PAPER_NEAREST = {"blues": ("country", "reggae"), "classical": ("jazz", "blues")}
PAPER_FARTHEST = {"metal": ("classical", "jazz")}


def genres_of(rows: np.ndarray, genre: str, *, names: Sequence[str] = GENRES) -> set[str]:
    """The genre names in `genre`'s row of a neighbour table (rows of indices, one row per genre)."""
    return {names[j] for j in rows[list(names).index(genre)]}


def equation_holds(info: Mapping[str, object], threshold: float) -> bool:
    """A stated equation holds: its D is the genre nearest to A - B + C and its error is under `threshold`."""
    return bool(info["stated_d_is_nearest"] and info["error"] < threshold)


def beats_null(p: float) -> bool:
    """More than chance: the null model's p-value is under `SIGNIFICANCE`."""
    return bool(p < SIGNIFICANCE)


def _neighbour_claim(kind: str, genre: str, expected: tuple[str, ...], rows: np.ndarray,
                     names: Sequence[str]) -> Claim:
    found = genres_of(rows, genre, names=names)
    return Claim("3.3", f"{genre}: {kind} are {' and '.join(expected)}", ", ".join(expected),
                 ", ".join(sorted(found)), found == set(expected), key=f"{kind}:{genre}")


def equation_claims(*, paper_equations: Sequence[Mapping[str, object]], threshold: float, observed: int,
                    null_random: np.ndarray, null_permutation: np.ndarray, null_random_p: float,
                    null_permutation_p: float, near: np.ndarray, far: np.ndarray,
                    names: Sequence[str] = GENRES) -> list[Claim]:
    """Sections 3.2.2 and 3.3's claims from the measured equations, null counts and neighbours.

    `paper_equations`: `equations.stated_equation`'s dicts; `observed`: the number of equations under
    `threshold`; `null_*`: each null model's counts and p-value; `near`/`far`: each genre's nearest and
    farthest genres as index rows (`embeddings.nearest_genres`/`farthest_genres`), in the order of
    `names`.
    """
    equations = [
        Claim("3.2.2", info["equation"], "holds up to a threshold error",
              f"nearest D: {info['nearest_d']}; error {info['error']:.3f} (threshold {threshold}), rank {info['rank']}",
              equation_holds(info, threshold), key=f"equation:{info['equation']}")
        for info in paper_equations
    ]
    nulls = [
        Claim("3.2.2", "the equations are more than chance, random-embedding null (this companion's check)", "-",
              f"{observed} under {threshold} vs {np.mean(null_random):.1f} for random embeddings "
              f"(p = {null_random_p:.3f}); permuted labels {np.mean(null_permutation):.1f} "
              f"(p = {null_permutation_p:.3f})", beats_null(null_random_p), key="equations:random-null"),
        Claim("3.2.2", "the equations are more than chance, label-permutation null (this companion's check)", "-",
              f"{observed} under {threshold} vs {np.mean(null_permutation):.1f} with permuted labels "
              f"(p = {null_permutation_p:.3f})", beats_null(null_permutation_p),
              key="equations:permutation-null"),
    ]
    neighbours = [_neighbour_claim("nearest", g, expected, near, names) for g, expected in PAPER_NEAREST.items()]
    neighbours += [_neighbour_claim("farthest", g, expected, far, names) for g, expected in PAPER_FARTHEST.items()]
    return equations + nulls + neighbours


def equations_result(*, config: Config, table: pd.DataFrame, paper_equations: Sequence[Mapping[str, object]],
                     threshold: float, observed: int, null_random: np.ndarray,
                     null_permutation: np.ndarray, null_random_p: float, null_permutation_p: float,
                     near: np.ndarray, far: np.ndarray, names: Sequence[str] = GENRES) -> EquationsResult:
    """Notebook 06's typed result from every equation ranked by error (`equations.search`), the
    paper's equations, the null models and each genre's nearest and farthest genres; with claims."""
    claims = equation_claims(paper_equations=paper_equations, threshold=threshold, observed=observed,
                             null_random=null_random, null_permutation=null_permutation,
                             null_random_p=null_random_p, null_permutation_p=null_permutation_p,
                             near=near, far=far, names=names)
    return EquationsResult(
        space=config.equation_space, threshold=float(threshold), n_equations_under_threshold=int(observed),
        top_equations=[f"{row.equation} ({row.error:.3f})" for row in table.head(10).itertuples()],
        paper_equations=[{"equation": i["equation"], "stated_d_is_nearest": bool(i["stated_d_is_nearest"]),
                          "nearest_d": i["nearest_d"], "error": float(i["error"]), "rank": int(i["rank"])}
                         for i in paper_equations],
        null_draws=int(config.null_draws), null_random_mean=float(null_random.mean()),
        null_random_p=float(null_random_p), null_permutation_mean=float(null_permutation.mean()),
        null_permutation_p=float(null_permutation_p),
        nearest_genres={g: [names[j] for j in near[i]] for i, g in enumerate(names)},
        farthest_genres={g: [names[j] for j in far[i]] for i, g in enumerate(names)},
        claims=claims)
