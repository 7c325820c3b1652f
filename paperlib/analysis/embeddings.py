"""Genre embeddings (mean signature per genre) and their geometry: PCA, distances, neighbours."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.data.genres import GENRES


def genre_embeddings(signatures: np.ndarray, labels: np.ndarray, *, n_genres: int = len(GENRES)) -> np.ndarray:
    """(n_genres, dim): the mean signature of each genre's clips (paper 3.2); row g is label g."""
    signatures = np.asarray(signatures, dtype=float)
    labels = np.asarray(labels)
    if signatures.ndim != 2 or labels.shape != (len(signatures),):
        raise ValueError(f"expected signatures (clips, dim) and labels (clips,), "
                         f"got {signatures.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_genres):
        raise ValueError(f"labels must lie in 0..{n_genres - 1}, got {labels.min()}..{labels.max()}")
    counts = np.bincount(labels, minlength=n_genres)
    if (counts == 0).any():
        raise ValueError(f"every genre needs at least one clip; no clips for labels "
                         f"{np.flatnonzero(counts == 0).tolist()}")
    sums = np.zeros((n_genres, signatures.shape[1]))
    np.add.at(sums, labels, signatures)
    return sums / counts[:, None]


def fit_pca(embeddings: np.ndarray, *, components: int):
    """A sklearn PCA fitted on the genre embeddings (rows = genres)."""
    from sklearn.decomposition import PCA

    embeddings = np.asarray(embeddings, dtype=float)
    if embeddings.ndim != 2 or not 1 <= components <= min(embeddings.shape):
        raise ValueError(f"components must lie in 1..{min(embeddings.shape)} for embeddings of shape "
                         f"{embeddings.shape}, got {components}")
    return PCA(n_components=components).fit(embeddings)


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    """(n, n) Euclidean distances between the rows of `points`."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"expected points (n >= 2, dim), got shape {points.shape}")
    diff = points[:, None, :] - points[None, :, :]
    return np.sqrt((diff ** 2).sum(-1))


def mean_pairwise_distance(distances: np.ndarray) -> float:
    """The mean distance over distinct pairs (the scale of the space)."""
    n = len(distances)
    return float(distances[np.triu_indices(n, 1)].mean())


def mean_distance_to_others(distances: np.ndarray) -> np.ndarray:
    """(n,): each point's mean distance to the other points."""
    n = len(distances)
    return distances.sum(1) / (n - 1)


def neighbour_order(distances: np.ndarray) -> np.ndarray:
    """(n, n-1): for each point, the other points from nearest to farthest (ties by index)."""
    d = np.array(distances, dtype=float)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :-1]


def nearest_genres(distances: np.ndarray, *, k: int = 2) -> np.ndarray:
    """(n, k): each point's k nearest other points (the paper's 2-NN, section 3.3)."""
    if not 1 <= k < len(distances):
        raise ValueError(f"k must lie in 1..{len(distances) - 1}, got {k}")
    return neighbour_order(distances)[:, :k]


def farthest_genres(distances: np.ndarray, *, k: int = 2) -> np.ndarray:
    """(n, k): each point's k farthest other points, farthest first."""
    if not 1 <= k < len(distances):
        raise ValueError(f"k must lie in 1..{len(distances) - 1}, got {k}")
    return neighbour_order(distances)[:, ::-1][:, :k]


def neighbour_rank(distances: np.ndarray, i: int, j: int) -> int:
    """Rank of point j among point i's neighbours (1 = nearest)."""
    if i == j:
        raise ValueError(f"i and j must differ, got {i} and {j}")
    return int(np.flatnonzero(neighbour_order(distances)[i] == j)[0]) + 1


def genre_spread(distances: np.ndarray, plane: np.ndarray, *,
                 genres: tuple[str, ...] = GENRES) -> pd.DataFrame:
    """Each genre's mean distance to the others: in the full space, relative to the mean pair, and
    relative in the 2D PCA plane (`plane`: distances there); farthest from the rest first."""
    full = mean_distance_to_others(distances)
    return pd.DataFrame({"mean distance to others": full,
                         "relative to mean pair": full / mean_pairwise_distance(distances),
                         "relative, 2D PCA plane": mean_distance_to_others(plane) / mean_pairwise_distance(plane)},
                        index=list(genres)).sort_values("mean distance to others", ascending=False)


@dataclass(frozen=True)
class PaperGeometry:
    """What section 3.2.1 says of the genre embeddings, measured: the two genres farthest from the
    rest (full space and 2D plane) and how near disco and pop are (neighbour ranks, 1 = nearest)."""

    farthest_two: list[str]
    farthest_two_2d: list[str]
    disco_pop_rank: int
    pop_disco_rank: int
    disco_pop_rank_2d: int


def paper_geometry(distances: np.ndarray, plane: np.ndarray, *,
                   genres: tuple[str, ...] = GENRES) -> PaperGeometry:
    """The section 3.2.1 observations from the genre distances in the full space and the 2D plane."""
    spread = genre_spread(distances, plane, genres=genres)
    disco, pop = genres.index("disco"), genres.index("pop")
    return PaperGeometry(
        farthest_two=spread.index[:2].tolist(),
        farthest_two_2d=spread["relative, 2D PCA plane"].sort_values(ascending=False).index[:2].tolist(),
        disco_pop_rank=neighbour_rank(distances, disco, pop),
        pop_disco_rank=neighbour_rank(distances, pop, disco),
        disco_pop_rank_2d=neighbour_rank(plane, disco, pop))


def standardized(values: np.ndarray) -> np.ndarray:
    """Each column as z-scores over the rows (a constant column: zeros), so that statistics in
    different units (Hz, dB, beats per minute) weigh alike in distances and genre means."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(f"expected values (rows >= 2, columns), got shape {values.shape}")
    spread = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
