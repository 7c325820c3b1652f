"""Verdicts of notebook 05 (genre embeddings and PCA, paper 3.2.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from paperlib.analysis.embeddings import (
    genre_spread,
    mean_pairwise_distance,
    paper_geometry,
)
from paperlib.core.results import Claim, PcaResult

# The genres the paper finds "far from the rest of the clusters".
FAR_GENRES = frozenset({"classical", "jazz"})
# "Close": a neighbour rank (1 = nearest) at most this.
CLOSE_RANK = 2


def far_from_rest(farthest_two: Sequence[str]) -> bool:
    """The two genres farthest from the others on average are exactly the paper's `FAR_GENRES`."""
    return set(farthest_two) == FAR_GENRES


def close(*ranks: int) -> bool:
    """At least one of the given neighbour ranks is at most `CLOSE_RANK`."""
    return bool(min(ranks) <= CLOSE_RANK)


def pca_claims(*, farthest_two: Sequence[str], farthest_two_2d: Sequence[str], disco_pop_rank: int,
               pop_disco_rank: int, disco_pop_rank_2d: int) -> list[Claim]:
    """Section 3.2.1's claims from the distances measured in the signature space and the 2D PCA plane.

    `farthest_two*`: the two genres with the largest mean distance to the others; `disco_pop_rank`:
    pop's rank among disco's neighbours, `pop_disco_rank` the reverse (1 = nearest).
    """
    return [
        Claim("3.2.1", "classical and jazz are far from the rest", "classical, jazz far from the other clusters",
              f"two farthest on average: {', '.join(farthest_two)}", far_from_rest(farthest_two),
              key="far:classical-jazz"),
        Claim("3.2.1", "classical and jazz are far from the rest (2D PCA plane)", "read off the 2D plot",
              f"two farthest on average: {', '.join(farthest_two_2d)}", far_from_rest(farthest_two_2d),
              key="far:classical-jazz:2d"),
        Claim("3.2.1", "disco and pop are close", "disco and pop closely clustered",
              f"pop is disco's neighbour no. {disco_pop_rank}, disco is pop's no. {pop_disco_rank}",
              close(disco_pop_rank, pop_disco_rank), key="close:disco-pop"),
        Claim("3.2.1", "disco and pop are close (2D PCA plane)", "read off the 2D plot",
              f"pop is disco's neighbour no. {disco_pop_rank_2d}", close(disco_pop_rank_2d),
              key="close:disco-pop:2d"),
        Claim("3.2.1", "rock, disco and hiphop lie along similar axes (3D)", "might share rhythmic components",
              "PC coordinates listed above; 'similar axes' has no test", None, key="axes:rock-disco-hiphop"),
    ]


def pca_result(*, explained_2d: Sequence[float], explained_3d: Sequence[float],
               distances: np.ndarray, plane: np.ndarray) -> PcaResult:
    """Notebook 05's typed result from the PCA's explained variance and the genre distances in the
    full space (`distances`) and in the 2D PCA plane (`plane`); with its claims."""
    spread = genre_spread(distances, plane)
    geometry = paper_geometry(distances, plane)
    claims = pca_claims(farthest_two=geometry.farthest_two, farthest_two_2d=geometry.farthest_two_2d,
                        disco_pop_rank=geometry.disco_pop_rank, pop_disco_rank=geometry.pop_disco_rank,
                        disco_pop_rank_2d=geometry.disco_pop_rank_2d)
    return PcaResult(
        explained_variance_2d=[float(v) for v in explained_2d],
        explained_variance_3d=[float(v) for v in explained_3d],
        mean_distance_to_others={g: float(v) for g, v in spread["mean distance to others"].items()},
        mean_pairwise_distance=mean_pairwise_distance(distances), **asdict(geometry),
        claims=claims)
