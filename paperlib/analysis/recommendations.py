"""Recommendations by signature (paper section 3.5): cosine k-nearest neighbours and their quality.

The paper shows the five nearest pieces of a query by its signature. Here the quality of such
lists is measured by genre precision@k: the share of a clip's k nearest other clips that share its
genre. Learned representations are scored honestly across folds (`precision_at_k_by_fold`): the
queries of fold model f are the clips f never saw, the database is every other clip, and all are
embedded by that same model f, so no query is retrieved in a space fitted to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlib.data.folds import TRAIN_ONLY, VALIDATION
from paperlib.model.network import explain, load_model

if TYPE_CHECKING:
    import pandas as pd

PAPER_K = 5  # "the top five most similar recommendations" (section 3.5.1)


def _matrix(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty (rows, dim) array, got shape {values.shape}.")
    return values


def nearest(query_vectors: np.ndarray, database: np.ndarray, k: int, *,
            exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k database rows nearest to each query by cosine distance, nearest first.

    `exclude` (one database index per query, e.g. the query itself) is never returned.
    Returns (indices, distances), both of shape (queries, k).
    """
    from sklearn.neighbors import NearestNeighbors

    queries = _matrix("query_vectors", query_vectors)
    database = _matrix("database", database)
    if queries.shape[1] != database.shape[1]:
        raise ValueError(f"Queries have dimension {queries.shape[1]} but the database has "
                         f"{database.shape[1]}; embed both with the same model.")
    available = len(database) - (exclude is not None)
    if not 1 <= k <= available:
        raise ValueError(f"k={k} is invalid: expected 1 <= k <= {available} "
                         f"(the database has {len(database)} rows).")
    if exclude is not None:
        exclude = np.asarray(exclude)
        if exclude.shape != (len(queries),):
            raise ValueError(f"exclude must hold one database index per query ({len(queries)}), "
                             f"got shape {exclude.shape}.")
    wanted = k + (exclude is not None)
    index = NearestNeighbors(n_neighbors=wanted, metric="cosine").fit(database)
    distances, indices = index.kneighbors(queries)
    if exclude is None:
        return indices, distances
    keep = indices != exclude[:, None]
    # Drop the excluded row where it appears, else the farthest of the k + 1 (ties may hide it).
    keep[keep.all(axis=1), -1] = False
    return (indices[keep].reshape(len(queries), k), distances[keep].reshape(len(queries), k))


def _hits(labels_of_neighbours: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    return (labels_of_neighbours == np.asarray(query_labels)[:, None]).mean(axis=1)


def precision_at_k(vectors: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean over clips of the share of its k nearest other clips (query left out) with its genre."""
    vectors = _matrix("vectors", vectors)
    labels = np.asarray(labels)
    if labels.shape != (len(vectors),):
        raise ValueError(f"labels must have shape ({len(vectors)},), got {labels.shape}.")
    indices, _ = nearest(vectors, vectors, k, exclude=np.arange(len(vectors)))
    return float(_hits(labels[indices], labels).mean())


def precision_at_k_by_fold(fold_signatures: np.ndarray, clip_fold: np.ndarray, labels: np.ndarray,
                           k: int) -> float:
    """Genre precision@k with every query held out: fold model f embeds its held-out clips
    (queries) and every other clip (database); the mean is over all queries of all folds.
    Clips with a negative `clip_fold` (never held out: a fixed train/valid split) are database only.
    Features nothing was trained on (clips, dim) serve every fold alike."""
    fold_signatures = np.asarray(fold_signatures)
    clip_fold = np.asarray(clip_fold)
    labels = np.asarray(labels)
    if fold_signatures.ndim == 2:
        n_folds = int(clip_fold.max()) + 1
        fold_signatures = np.broadcast_to(fold_signatures, (n_folds, *fold_signatures.shape))
    if fold_signatures.ndim != 3:
        raise ValueError(f"fold_signatures must be (folds, clips, dim), got {fold_signatures.shape}.")
    n_folds, n_clips, _ = fold_signatures.shape
    if clip_fold.shape != (n_clips,) or labels.shape != (n_clips,):
        raise ValueError(f"clip_fold and labels must have shape ({n_clips},), got "
                         f"{clip_fold.shape} and {labels.shape}.")
    found = set(np.unique(clip_fold).tolist())
    if not set(range(n_folds)) <= found <= set(range(n_folds)) | {VALIDATION, TRAIN_ONLY}:
        raise ValueError(f"clip_fold must hold folds 0..{n_folds - 1} (and the VALIDATION / "
                         f"TRAIN_ONLY markers), got {sorted(found)}.")
    hits = []
    for fold in range(n_folds):
        queries = np.flatnonzero(clip_fold == fold)
        if len(queries) == 0:
            continue
        database = np.flatnonzero(clip_fold != fold)
        indices, _ = nearest(fold_signatures[fold, queries], fold_signatures[fold, database], k)
        hits.append(_hits(labels[database][indices], labels[queries]))
    return float(np.concatenate(hits).mean())


def chance_precision(labels: np.ndarray, *, clip_fold: np.ndarray | None = None) -> float:
    """Expected precision@k of random neighbours: the mean share of the query's genre among the
    clips it is searched in (every other clip, or with `clip_fold` the clips of other folds)."""
    labels = np.asarray(labels)
    if len(labels) < 2:
        raise ValueError(f"Chance needs at least 2 clips, got {len(labels)}.")
    if clip_fold is None:
        same = (labels[:, None] == labels[None, :]).sum(axis=1) - 1
        return float(np.mean(same / (len(labels) - 1)))
    clip_fold = np.asarray(clip_fold)
    queries = clip_fold >= 0  # negative: never held out, never a query
    other = clip_fold[queries, None] != clip_fold[None, :]
    same = ((labels[queries, None] == labels[None, :]) & other).sum(axis=1)
    return float(np.mean(same / other.sum(axis=1)))


def standardise(features: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns left at zero)."""
    features = _matrix("features", features)
    std = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)


def fold_mean_embeddings(model_paths: list[str | Path], tokens: np.ndarray) -> np.ndarray:
    """(folds, clips, dim): each fold model's plain mean of its token embeddings of every clip.

    The stand-in for mean pooling when the ablation was not trained: the attention model's own
    token embeddings averaged without attention, scored with the same fold protocol.
    """
    return np.stack([explain(load_model(path, tokens_shape=tokens.shape[1:]),
                             tokens)["token_embeddings"].mean(axis=1)
                     for path in model_paths])


def top_attention_window(attention: np.ndarray, windows: np.ndarray) -> tuple[float, float]:
    """(start_s, end_s) of the token with the highest attention weight."""
    attention = np.asarray(attention)
    if attention.shape != (len(windows),):
        raise ValueError(f"Expected {len(windows)} attention weights, got shape {attention.shape}.")
    start, end = windows[int(np.argmax(attention))]
    return float(start), float(end)


def pick_queries(labels: np.ndarray, *, seed: int) -> np.ndarray:
    """One clip index per genre present (in label order), drawn at random from `seed`."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(np.flatnonzero(labels == label)) for label in np.unique(labels)])


def recommendation_table(query: int, indices: np.ndarray, distances: np.ndarray,
                         tracks: pd.DataFrame) -> pd.DataFrame:
    """The query (rank 0) and its recommendations: rank, track, genre, cosine distance."""
    import pandas as pd

    rows = [{"rank": 0, "track": tracks["track_id"].iat[query], "genre": tracks["genre"].iat[query],
             "cosine distance": 0.0}]
    rows += [{"rank": rank, "track": tracks["track_id"].iat[i], "genre": tracks["genre"].iat[i],
              "cosine distance": float(d)}
             for rank, (i, d) in enumerate(zip(indices, distances), start=1)]
    return pd.DataFrame(rows)


# Where the mean-pooled embeddings of notebook 08 come from, and how to say it.
MEAN_POOLED_SOURCES = {
    "ablation": "mean-pooling model (ablation)",
    "attention_token_mean": "attention model's token embeddings, averaged without attention (ablation not run)",
}


def same_genre_share(labels: np.ndarray, queries: np.ndarray, indices: np.ndarray) -> float:
    """The share of the recommendations (`indices`, one row per query) in their query's genre."""
    labels = np.asarray(labels)
    return float(np.mean(labels[indices] == labels[queries][:, None]))
