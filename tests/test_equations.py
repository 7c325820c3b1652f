import numpy as np
import pytest

from paperlib.analysis import equations as eq
from paperlib.data.genres import GENRES


def planted(seed=0):
    """Random genre embeddings with blues - country + disco = rock exactly."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(10, 32))
    a, b, c, d = (GENRES.index(g) for g in ("blues", "country", "disco", "rock"))
    points[d] = points[a] - points[b] + points[c]
    return points


def test_a_planted_exact_equation_is_found_first_with_zero_error():
    points = planted()
    table = eq.search(points)
    assert len(table) == 720
    # blues + disco = country + rock: the 8 rearrangements (A and C commute; D - C + B = A, ...) are exact
    top = set(table.iloc[:8]["equation"])
    assert {"blues - country + disco = rock", "disco - country + blues = rock",
            "rock - disco + country = blues", "country - blues + rock = disco"} <= top
    assert table["error"].iloc[:8].max() == pytest.approx(0, abs=1e-12)
    assert table["error"].iloc[8] > 0.1
    assert (np.diff(table["error"]) >= 0).all()
    info = eq.stated_equation(points, table, ("blues", "country", "disco", "rock"))
    assert info["stated_d_is_nearest"] and info["error"] == pytest.approx(0, abs=1e-12)
    assert info["rank"] <= 8
    other = eq.stated_equation(points, table, ("disco", "metal", "rock", "pop"))
    assert other["rank"] > 1 and other["error"] > 0


def test_d_is_never_one_of_a_b_c_and_error_is_scale_free():
    points = planted(1)
    table = eq.search(points)
    for column in ("a", "b", "c"):
        assert not (table["d"] == table[column]).any()
    scaled = eq.search(points * 7.5 + 3.0)
    np.testing.assert_allclose(scaled["error"], table["error"], atol=1e-9)
    assert eq.count_under(points, threshold=1e-9) == 8


def test_p_value_formula():
    null = np.array([0, 1, 2, 3, 5, 5, 8, 9, 1, 0])
    assert eq.p_value(5, null) == pytest.approx((1 + 4) / 11)
    assert eq.p_value(100, null) == pytest.approx(1 / 11)
    assert eq.p_value(0, null) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        eq.p_value(1, np.array([]))


def test_pca_space_has_the_requested_dimension():
    points = planted()
    assert eq.to_space(points, space="pca", components=3).shape == (10, 3)
    assert eq.to_space(points, space="full", components=3).shape == (10, 32)
    with pytest.raises(ValueError, match="space"):
        eq.to_space(points, space="umap", components=3)


def test_null_counts_are_reproducible_and_have_the_right_length():
    points = planted()
    kwargs = dict(threshold=0.5, draws=5, seed=3, space="pca", components=3)
    first = eq.random_null_counts(points, **kwargs)
    assert first.shape == (5,) and (first >= 0).all() and (first <= 720).all()
    np.testing.assert_array_equal(first, eq.random_null_counts(points, **kwargs))
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 4)
    counts = eq.permutation_null_counts(rng.normal(size=(40, 8)), labels, **kwargs)
    assert counts.shape == (5,)


def test_null_histogram_returns_a_figure_with_content():
    import matplotlib

    matplotlib.use("Agg")
    from paperlib.figures import plots

    figure = plots.null_counts_histogram({"random": np.array([0, 2, 4]), "permuted": np.array([1, 1, 3])},
                                         5, threshold=0.5)
    assert figure.axes[0].has_data() and len(figure.axes[0].lines) == 1
    matplotlib.pyplot.close(figure)
