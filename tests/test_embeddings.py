import numpy as np
import pytest

from paperlib.analysis import embeddings as emb


def test_genre_embeddings_are_the_mean_signature_of_each_genre():
    signatures = np.array([[0.0, 0.0], [2.0, 4.0], [10.0, 10.0], [1.0, 1.0], [3.0, 3.0]])
    labels = np.array([0, 0, 1, 2, 2])
    result = emb.genre_embeddings(signatures, labels, n_genres=3)
    np.testing.assert_allclose(result, [[1.0, 2.0], [10.0, 10.0], [2.0, 2.0]])


def test_genre_embeddings_reject_an_empty_genre_and_bad_shapes():
    with pytest.raises(ValueError, match="no clips"):
        emb.genre_embeddings(np.zeros((2, 3)), np.array([0, 0]), n_genres=2)
    with pytest.raises(ValueError, match="expected signatures"):
        emb.genre_embeddings(np.zeros((2, 3)), np.array([0, 1, 1]), n_genres=2)


def test_nearest_farthest_and_ranks_on_a_line():
    points = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    d = emb.pairwise_distances(points)
    np.testing.assert_array_equal(emb.nearest_genres(d, k=2), [[1, 2], [0, 2], [1, 0], [2, 1], [3, 2]])
    np.testing.assert_array_equal(emb.farthest_genres(d, k=2)[0], [4, 3])
    assert emb.neighbour_rank(d, 2, 3) == 3
    assert emb.neighbour_rank(d, 4, 0) == 4
    np.testing.assert_allclose(emb.mean_distance_to_others(d)[0], (1 + 3 + 7 + 15) / 4)
    assert emb.mean_pairwise_distance(d) == pytest.approx(np.mean([1, 3, 7, 15, 2, 6, 14, 4, 12, 8]))


def test_fit_pca_dimension_and_variance():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(10, 32))
    pca = emb.fit_pca(points, components=3)
    assert pca.transform(points).shape == (10, 3)
    assert 0 < pca.explained_variance_ratio_.sum() <= 1
    with pytest.raises(ValueError, match="components"):
        emb.fit_pca(points, components=11)


def test_geometry_plots_return_figures_with_content():
    import matplotlib

    matplotlib.use("Agg")
    from paperlib.figures import plots

    rng = np.random.default_rng(0)
    names = [f"g{i}" for i in range(10)]
    genre_points, clips = rng.normal(size=(10, 3)), rng.normal(size=(50, 3))
    labels = rng.integers(0, 10, 50)
    figures = [plots.genre_pca_2d(genre_points[:, :2], names, clip_points=clips[:, :2], clip_labels=labels,
                                  explained=np.array([0.5, 0.2])),
               plots.genre_pca_3d(genre_points, names, clip_points=clips, clip_labels=labels),
               plots.distance_heatmap(emb.pairwise_distances(genre_points), names)]
    for figure in figures:
        assert figure.axes and figure.axes[0].has_data()
        matplotlib.pyplot.close(figure)


def test_paper_geometry_on_hand_made_genres():
    from paperlib.analysis.embeddings import genre_spread, paper_geometry
    from paperlib.data.genres import GENRES

    points = np.zeros((10, 2))
    points[:, 0] = np.arange(10)  # genres on a line, in GENRES order
    points[GENRES.index("pop"), 0] = points[GENRES.index("disco"), 0] + 0.1  # pop right beside disco
    distances = emb.pairwise_distances(points)
    geometry = paper_geometry(distances, distances)
    first, last = GENRES[0], GENRES[-1]  # the two ends of the line are farthest from the rest
    assert set(geometry.farthest_two) == {first, last} == set(geometry.farthest_two_2d)
    assert geometry.disco_pop_rank == geometry.pop_disco_rank == geometry.disco_pop_rank_2d == 1
    spread = genre_spread(distances, distances)
    assert list(spread.index[:2]) == geometry.farthest_two
    assert spread["relative to mean pair"].iloc[0] > 1 > spread["relative to mean pair"].iloc[-1]
