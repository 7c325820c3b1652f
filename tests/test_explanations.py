"""The comparison of accounts (recovery, agreement, deletion areas) and its verdict, on hand-made numbers."""

import numpy as np
import pandas as pd
import pytest

from paperlib.analysis import explanations as ex
from paperlib.claims.explanations import explanations_result, faithful


def accounts_of(prob_curves: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> ex.Accounts:
    clips = len(next(iter(scores.values())))
    return ex.Accounts(np.arange(clips), scores, np.zeros(clips, int), prob_curves,
                       {k: (v > 0.5).astype(float) for k, v in prob_curves.items()})


def test_ranking_puts_the_most_important_first_and_keeps_ties_in_order():
    assert ex.ranking(np.array([[0.1, 0.5, 0.5, 0.0]])).tolist() == [[1, 2, 0, 3]]


def test_random_orders_are_seeded_permutations():
    a, b = ex.random_orders(5, 10, 3, seed=[1, 2]), ex.random_orders(5, 10, 3, seed=[1, 2])
    assert (a == b).all() and a.shape == (3, 5, 10)
    assert (np.sort(a, axis=2) == np.arange(10)).all()
    assert not (a == ex.random_orders(5, 10, 3, seed=[1, 3])).all()


def test_recovery_interval_brackets_the_share_and_counts_correct_clips_only():
    scores = np.eye(10)[[3] * 30 + [5] * 10]  # peaks: token 3 in 30 clips, token 5 in 10
    motif = ["3"] * 40
    correct = np.r_[np.ones(35, bool), np.zeros(5, bool)]  # 30 hits, 5 misses among the correct
    row = ex.recovery_interval(scores, motif, correct, seed=0)
    assert row["clips"] == 35 and row["recovery"] == pytest.approx(30 / 35)
    assert row["low"] < row["recovery"] < row["high"] and row["chance"] == pytest.approx(0.1)
    assert ex.recovery_interval(scores, motif, np.zeros(40, bool), seed=0)["clips"] == 0


def test_kendall_per_clip_is_one_for_the_same_order_and_minus_one_reversed():
    a = np.arange(10.0)[None].repeat(2, axis=0)
    b = np.stack([np.arange(10.0) * 3, -np.arange(10.0)])
    assert ex.kendall_per_clip(a, b) == pytest.approx([1.0, -1.0])
    with pytest.raises(ValueError, match="one shape"):
        ex.kendall_per_clip(a, b[:, :5])


def test_curve_areas_on_the_unit_interval():
    assert ex.curve_areas(np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])) == pytest.approx([1.0, 0.25])


def test_paired_less_finds_lower_values_and_not_higher_ones():
    rng = np.random.default_rng(0)
    b = rng.random(40)
    assert ex.paired_less(b - 0.1, b) < 0.001
    assert ex.paired_less(b + 0.1, b) > 0.99
    assert ex.paired_less(b, b) == 1.0


def test_faithful_needs_beating_random_and_not_losing_to_occlusion():
    assert faithful(0.001, 0.5) and not faithful(0.2, 0.5) and not faithful(0.001, 0.01)


def test_the_verdict_follows_the_deletion_curves():
    clips, k = 30, np.linspace(0, 1, 11)
    fast = np.tile(np.clip(1 - 3 * k, 0, 1), (clips, 1)) + np.linspace(0, 0.01, clips)[:, None]
    slow = np.tile(1 - k, (clips, 1))
    scores = {name: np.random.default_rng(i).random((clips, 10))
              for i, name in enumerate(ex.ACCOUNTS)}
    good = explanations_result(accounts_of({"attention": fast, "occlusion": fast + 0.05, "gradients": slow,
                                            ex.RANDOM: slow}, scores), None, seconds=1.0,
                               gradient_steps=4, random_orders=3)
    assert good.claims[0].verdict == "holds" and good.recovery is None and "recovery" in good.missing
    bad = explanations_result(accounts_of({"attention": slow, "occlusion": fast, "gradients": fast,
                                           ex.RANDOM: slow + 0.01}, scores), None, seconds=1.0,
                              gradient_steps=4, random_orders=3)
    assert bad.claims[0].verdict == "does not hold"
    assert bad.deletion_probability_area["attention"] > bad.deletion_probability_area["occlusion"]


def test_accounts_flatten_for_the_run_folder():
    scores = {"attention": np.ones((2, 3)), "occlusion": np.zeros((2, 3))}
    flat = accounts_of({"attention": np.ones((2, 4)), ex.RANDOM: np.zeros((2, 4))}, scores).arrays()
    assert set(flat) == {"rows", "predicted", "score_attention", "score_occlusion", "deletion_prob_attention",
                         f"deletion_prob_{ex.RANDOM}", "deletion_correct_attention", f"deletion_correct_{ex.RANDOM}"}


def test_recovery_table_rows_per_account():
    scores = {"attention": np.eye(10)[[3] * 20], "occlusion": np.eye(10)[[4] * 20]}
    table = ex.recovery_table(scores, ["3;4"] * 20, np.ones(20, bool), seed=1)
    assert list(table.index) == ["attention", "occlusion"]
    assert isinstance(table, pd.DataFrame) and (table["recovery"] == 1.0).all()


@pytest.mark.slow
def test_out_of_fold_accounts_from_the_fold_models(tmp_path):
    """Each clip is explained by the fold model that held it out; every deletion curve starts at
    the intact clip and ends at the all-neutral clip, whatever the order."""
    from paperlib.core.config import Config
    from paperlib.model.attribution import TokenAttribution
    from paperlib.model.network import build_model, load_model

    class Folder:  # the one method of a run folder that out_of_fold_accounts uses
        def path_of(self, name, *, pooling, fold):
            return tmp_path / f"fold{fold}.keras"

    config = Config(n_mels=24, token_frames=9, n_tokens=6)
    for fold in (0, 1):
        build_model(config, n_classes=3).save(tmp_path / f"fold{fold}.keras")
    rng = np.random.default_rng(0)
    tokens = rng.random((10, 6, 24, 9), dtype=np.float32)
    oof = {"fold": np.array([0, 1] * 5), "label": rng.integers(0, 3, 10),
           "attention": rng.dirichlet(np.ones(6), size=10)}
    accounts = ex.out_of_fold_accounts(Folder(), lambda r: tokens[r], oof, np.arange(10), seed=3,
                                       gradient_steps=2, deletion_orders=4)
    assert list(accounts.rows) == list(range(10)) and set(accounts.deletion_prob) == {*ex.ACCOUNTS, ex.RANDOM}
    odd = TokenAttribution.of_model(load_model(tmp_path / "fold1.keras"), tokens[1::2])
    np.testing.assert_allclose(accounts.scores["occlusion"][1::2], odd.occlusion(), atol=1e-6)
    np.testing.assert_allclose(accounts.predicted[1::2], odd.target)
    curves = np.stack([accounts.deletion_prob[name] for name in (*ex.ACCOUNTS, ex.RANDOM)])
    assert curves.shape == (4, 10, 7)
    np.testing.assert_allclose(curves[:, :, 0], curves[:1, :, 0].repeat(4, axis=0), atol=1e-6)
    np.testing.assert_allclose(curves[:, :, -1], curves[:1, :, -1].repeat(4, axis=0), atol=1e-6)
