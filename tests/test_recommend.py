import numpy as np
import pandas as pd
import pytest

from paperlib.analysis.recommendations import (
    chance_precision,
    nearest,
    pick_queries,
    precision_at_k,
    precision_at_k_by_fold,
    recommendation_table,
    standardise,
    top_attention_window,
)


def two_clusters(n=10, seed=0):
    """n vectors near (1, 0, 0) with label 0 and n near (0, 1, 0) with label 1."""
    rng = np.random.default_rng(seed)
    a = np.array([1.0, 0.0, 0.0]) + 0.05 * rng.standard_normal((n, 3))
    b = np.array([0.0, 1.0, 0.0]) + 0.05 * rng.standard_normal((n, 3))
    return np.vstack([a, b]), np.repeat([0, 1], n)


def test_tight_clusters_give_precision_one_and_shuffled_labels_less():
    vectors, labels = two_clusters()
    assert precision_at_k(vectors, labels, 5) == 1.0
    shuffled = np.random.default_rng(1).permutation(labels)
    assert precision_at_k(vectors, shuffled, 5) < 0.8


def test_nearest_uses_cosine_and_excludes_the_query():
    database = np.array([[1.0, 0.0], [10.0, 0.5], [0.0, 1.0], [1.0, 1.0]])
    indices, distances = nearest(database, database, 2, exclude=np.arange(4))
    assert not (indices == np.arange(4)[:, None]).any()
    # cosine ignores length: row 1 (long, almost along x) is nearest to row 0
    assert indices[0, 0] == 1 and distances[0, 0] == pytest.approx(1 - 10 / np.hypot(10, 0.5))
    assert (np.diff(distances, axis=1) >= 0).all()
    plain, _ = nearest(database, database, 1)
    assert (plain[:, 0] == np.arange(4)).all()


def test_nearest_excludes_the_query_even_among_duplicates():
    database = np.ones((4, 3))
    indices, _ = nearest(database, database, 3, exclude=np.arange(4))
    for q in range(4):
        assert sorted(indices[q]) == sorted(set(range(4)) - {q})


def test_nearest_checks_its_inputs():
    with pytest.raises(ValueError, match="k=5"):
        nearest(np.ones((2, 3)), np.ones((4, 3)), 5)
    with pytest.raises(ValueError, match="dimension"):
        nearest(np.ones((2, 2)), np.ones((4, 3)), 1)
    with pytest.raises(ValueError, match="one database index per query"):
        nearest(np.ones((2, 3)), np.ones((4, 3)), 1, exclude=np.arange(3))


def test_precision_by_fold_uses_each_folds_own_embeddings():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    clip_fold = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])  # 4 held out by model 0, 8 by model 1
    rng = np.random.default_rng(0)
    directions = np.eye(2)
    good = directions[labels] + 0.01 * rng.standard_normal((12, 2))  # genres apart for every clip
    bad = good.copy()
    bad[clip_fold == 1] = directions[1 - labels[clip_fold == 1]]  # fold 1's clips flipped
    # model "bad" puts every query among the other genre, whichever fold it embeds for
    assert precision_at_k_by_fold(np.stack([good, good]), clip_fold, labels, 2) == 1.0
    assert precision_at_k_by_fold(np.stack([bad, bad]), clip_fold, labels, 2) == 0.0
    # model 0 answers the 4 queries of fold 0, model 1 the 8 of fold 1
    assert precision_at_k_by_fold(np.stack([good, bad]), clip_fold, labels, 2) == pytest.approx(4 / 12)
    assert precision_at_k_by_fold(np.stack([bad, good]), clip_fold, labels, 2) == pytest.approx(8 / 12)


def test_precision_by_fold_never_retrieves_from_the_query_fold():
    labels = np.array([0, 0, 1, 1])
    clip_fold = np.array([0, 0, 1, 1])
    # each query's twin (same genre, same vector) sits in its own fold: it must not be found
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    stacked = np.stack([vectors, vectors])
    assert precision_at_k_by_fold(stacked, clip_fold, labels, 1) == 0.0
    with pytest.raises(ValueError, match="folds 0..1"):
        precision_at_k_by_fold(stacked, np.array([0, 1, 2, 1]), labels, 1)
    with pytest.raises(ValueError, match="folds 0..1"):
        precision_at_k_by_fold(stacked, np.array([0, 1, -1, 1]), labels, 1)  # not a marker


def test_a_fixed_split_queries_the_test_fold_only_and_shared_features_serve_every_fold():
    from paperlib.data.folds import TRAIN_ONLY, VALIDATION

    labels = np.array([0, 1, 0, 1, 0, 1])
    clip_fold = np.array([0, 0, TRAIN_ONLY, TRAIN_ONLY, VALIDATION, VALIDATION])
    vectors = np.eye(2)[labels]
    vectors[2] = [0.1, 1.0]  # a train clip of genre 0 that looks like genre 1: a miss if queried
    # the queries (fold 0) find their genre among the 4 others at k=1; train clips are never queries
    assert precision_at_k_by_fold(vectors, clip_fold, labels, 1) == 1.0
    assert precision_at_k_by_fold(vectors[None], clip_fold, labels, 1) == 1.0
    assert chance_precision(labels, clip_fold=clip_fold) == pytest.approx(0.5)


def test_chance_is_the_share_of_the_genre_among_the_others():
    labels = np.array([0, 0, 0, 1])
    assert chance_precision(labels) == pytest.approx((3 * 2 / 3 + 0) / 4)
    clip_fold = np.array([0, 1, 0, 1])
    # clip 0 searches {1, 3}: 1 same; clip 1 searches {0, 2}: 2 same; clip 2 like clip 0; clip 3: 0
    assert chance_precision(labels, clip_fold=clip_fold) == pytest.approx((0.5 + 1 + 0.5 + 0) / 4)


def test_standardise_and_top_window():
    z = standardise(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert np.allclose(z, [[-1, 0], [1, 0]])
    windows = np.array([[0.0, 4.0], [3.0, 7.0], [6.0, 10.0]])
    assert top_attention_window(np.array([0.2, 0.5, 0.3]), windows) == (3.0, 7.0)
    with pytest.raises(ValueError, match="3 attention weights"):
        top_attention_window(np.array([1.0]), windows)


def test_queries_are_one_per_genre_and_seeded():
    labels = np.repeat(np.arange(4), 5)
    a, b = pick_queries(labels, seed=3), pick_queries(labels, seed=3)
    assert (a == b).all() and (labels[a] == np.arange(4)).all()
    assert any((pick_queries(labels, seed=s) != a).any() for s in range(4, 10))


def test_recommendation_table_lists_query_then_neighbours():
    tracks = pd.DataFrame({"track_id": ["a", "b", "c"], "genre": ["jazz", "rock", "jazz"]})
    table = recommendation_table(0, np.array([2, 1]), np.array([0.1, 0.4]), tracks)
    assert table["track"].tolist() == ["a", "c", "b"] and table["rank"].tolist() == [0, 1, 2]
    assert table["cosine distance"].tolist() == [0.0, 0.1, 0.4]
