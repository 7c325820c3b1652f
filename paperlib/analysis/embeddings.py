"""Genre embeddings (mean signature per genre) and their geometry: PCA, distances, neighbours."""

from __future__ import annotations

import numpy as np

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
