"""Verdict rules of notebooks 05 (PCA) and 06 (equations, nearest genres) on hand-made inputs."""

import numpy as np
import pytest

from paperlib.claims.embeddings import pca_claims
from paperlib.claims.equations import equation_claims, genres_of
from paperlib.data.genres import GENRES


def _pca(**changes):
    numbers = dict(farthest_two=["classical", "jazz"], farthest_two_2d=["jazz", "classical"],
                   disco_pop_rank=1, pop_disco_rank=2, disco_pop_rank_2d=2)
    return {c.claim: c for c in pca_claims(**{**numbers, **changes})}


FAR, FAR_2D = "classical and jazz are far from the rest", "classical and jazz are far from the rest (2D PCA plane)"
CLOSE, CLOSE_2D = "disco and pop are close", "disco and pop are close (2D PCA plane)"
AXES = "rock, disco and hiphop lie along similar axes (3D)"


def test_pca_claims_hold_for_the_papers_geometry():
    claims = _pca()
    assert list(claims) == [FAR, FAR_2D, CLOSE, CLOSE_2D, AXES]
    assert [c.holds for c in claims.values()] == [True, True, True, True, None]
    assert all(c.section == "3.2.1" for c in claims.values())
    assert claims[FAR].this_run == "two farthest on average: classical, jazz"
    assert claims[CLOSE].this_run == "pop is disco's neighbour no. 1, disco is pop's no. 2"


def test_far_from_the_rest_needs_exactly_classical_and_jazz():
    assert _pca(farthest_two=["classical", "metal"])[FAR].holds is False
    assert _pca(farthest_two=["metal", "rock"])[FAR].holds is False
    assert _pca(farthest_two_2d=["jazz", "pop"])[FAR_2D].holds is False
    assert _pca(farthest_two_2d=["jazz", "pop"])[FAR].holds is True  # the two spaces are judged apart


def test_close_means_a_neighbour_rank_of_at_most_two_either_way():
    assert _pca(disco_pop_rank=2, pop_disco_rank=7)[CLOSE].holds is True
    assert _pca(disco_pop_rank=6, pop_disco_rank=2)[CLOSE].holds is True
    assert _pca(disco_pop_rank=3, pop_disco_rank=3)[CLOSE].holds is False
    assert _pca(disco_pop_rank_2d=1)[CLOSE_2D].holds is True
    assert _pca(disco_pop_rank_2d=3)[CLOSE_2D].holds is False
    assert _pca(disco_pop_rank_2d=3)[CLOSE_2D].this_run == "pop is disco's neighbour no. 3"


def test_similar_axes_is_never_judged():
    assert _pca(farthest_two=["rock", "pop"], disco_pop_rank=9, pop_disco_rank=9)[AXES].verdict == "not testable here"


# --- notebook 06 -------------------------------------------------------------------------------------

def _rows(table: dict[str, tuple[str, str]]) -> np.ndarray:
    """Neighbour index rows: the given genres' rows as named, every other row an arbitrary pair."""
    rows = np.array([[(i + 1) % 10, (i + 2) % 10] for i in range(10)])
    for genre, pair in table.items():
        rows[GENRES.index(genre)] = [GENRES.index(g) for g in pair]
    return rows


def _equation(text="blues - country + disco = rock", *, nearest=True, nearest_d="rock", error=0.1, rank=3):
    return {"equation": text, "stated_d_is_nearest": nearest, "nearest_d": nearest_d, "error": error, "rank": rank}


NEAR = {"blues": ("reggae", "country"), "classical": ("jazz", "blues")}
FAR_ROWS = {"metal": ("jazz", "classical")}


def _equations(**changes):
    numbers = dict(paper_equations=[_equation()], threshold=0.2, observed=12,
                   null_random=np.array([1, 2, 3]), null_permutation=np.array([10, 14]),
                   null_random_p=0.01, null_permutation_p=0.5, near=_rows(NEAR), far=_rows(FAR_ROWS))
    return equation_claims(**{**numbers, **changes})


def test_equation_claims_list_and_word_each_check():
    claims = _equations()
    assert [c.claim for c in claims] == [
        "blues - country + disco = rock",
        "the equations are more than chance, random-embedding null (this companion's check)",
        "the equations are more than chance, label-permutation null (this companion's check)",
        "blues: nearest are country and reggae", "classical: nearest are jazz and blues",
        "metal: farthest are classical and jazz"]
    assert [c.holds for c in claims] == [True, True, False, True, True, True]
    assert claims[0].this_run == "nearest D: rock; error 0.100 (threshold 0.2), rank 3"
    assert claims[1].this_run == ("12 under 0.2 vs 2.0 for random embeddings (p = 0.010); "
                                  "permuted labels 12.0 (p = 0.500)")
    assert claims[2].this_run == "12 under 0.2 vs 12.0 with permuted labels (p = 0.500)"
    assert [c.paper for c in claims[3:]] == ["country, reggae", "jazz, blues", "classical, jazz"]
    assert claims[3].this_run == "country, reggae"


@pytest.mark.parametrize("equation, holds", [
    (_equation(), True),
    (_equation(error=0.2), False),  # the threshold itself is not under it
    (_equation(error=0.5), False),
    (_equation(nearest=False, nearest_d="pop", error=0.01), False),
])
def test_a_stated_equation_holds_when_its_d_is_nearest_and_its_error_under_the_threshold(equation, holds):
    assert _equations(paper_equations=[equation])[0].holds is holds


def test_one_claim_per_stated_equation():
    claims = _equations(paper_equations=[_equation(), _equation("disco - metal + rock = pop", error=0.9)])
    assert [c.holds for c in claims[:2]] == [True, False] and len(claims) == 7


@pytest.mark.parametrize("p, holds", [(0.01, True), (0.049, True), (0.05, False), (0.4, False)])
def test_a_null_model_is_beaten_below_the_five_percent_level(p, holds):
    claims = _equations(null_random_p=p, null_permutation_p=p)
    assert claims[1].holds is holds and claims[2].holds is holds


def test_nearest_and_farthest_genres_must_match_the_papers_pairs():
    claims = _equations(near=_rows({"blues": ("country", "rock"), "classical": ("blues", "jazz")}),
                        far=_rows({"metal": ("classical", "pop")}))
    assert [c.holds for c in claims[3:]] == [False, True, False]
    assert claims[3].this_run == "country, rock" and claims[5].this_run == "classical, pop"


def test_genres_of_reads_a_genres_row():
    rows = _rows({"jazz": ("pop", "blues")})
    assert genres_of(rows, "jazz") == {"blues", "pop"}
    assert genres_of(np.array([[1], [0]]), "b", names=("a", "b")) == {"a"}
