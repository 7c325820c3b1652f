"""Baselines, claims, batches and the parallel map."""

import dataclasses

import numpy as np
import pytest

from paperlib.claims.claim import claims_table
from paperlib.core.results import Claim
from paperlib.core.config import Config
from paperlib.core.parallel import parallel_map
from paperlib.model.baselines import mfcc_logistic_oof


def test_logistic_baseline_learns_separable_statistics_out_of_fold():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    stats = rng.normal(size=(60, 40)) + 3 * np.eye(3)[labels] @ rng.normal(size=(3, 40))
    folds = np.tile(np.arange(4), 15)
    probs = mfcc_logistic_oof(stats, labels, folds)
    assert probs.shape == (60, 3) and np.allclose(probs.sum(1), 1)
    assert (probs.argmax(1) == labels).mean() > 0.9
    noise = mfcc_logistic_oof(rng.normal(size=(60, 40)), labels, folds)
    assert (noise.argmax(1) == labels).mean() < 0.6


def test_logistic_baseline_with_a_fixed_split_trains_on_train_only(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from paperlib.data.folds import TRAIN_ONLY, VALIDATION

    fitted = []
    original = LogisticRegression.fit
    monkeypatch.setattr(LogisticRegression, "fit",
                        lambda self, x, y: fitted.append(len(y)) or original(self, x, y))
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(2), 12)
    folds = np.repeat([0, VALIDATION, TRAIN_ONLY], 8)
    probs = mfcc_logistic_oof(rng.normal(size=(24, 4)), labels, folds)
    assert fitted == [8]  # the train clips: neither the test fold nor the validation set
    assert np.allclose(probs[folds == 0].sum(1), 1) and not probs[folds != 0].any()


def test_claim_verdicts():
    claims = [Claim("3.1", "a", "x", "y", True), Claim("3.1", "b", "x", "y", False),
              Claim("3.1", "c", "x", "y", None)]
    assert claims_table(claims)["verdict"].tolist() == ["holds", "does not hold", "not testable here"]
    assert claims[1].verdict == "does not hold"
    stored = [Claim.model_validate(c.model_dump()) for c in claims]  # metrics.json and back
    assert stored == claims and stored[2].model_dump()["verdict"] == "not testable here"
    assert Claim("3.1", "a", "x", "y", True, "k") == Claim(section="3.1", claim="a", paper="x",
                                                           this_run="y", holds=True, key="k")
    with pytest.raises(TypeError, match="at most 6"):
        Claim("3.1", "a", "x", "y", True, "k", "extra")
    with pytest.raises(ValueError, match="does not follow"):
        Claim.model_validate({**claims[0].model_dump(), "verdict": "does not hold"})


def test_batch_order_covers_every_fit_clip_once_and_depends_only_on_seed_and_epoch():
    from paperlib.model.training_state import ModelSpec

    config = Config()
    spec = ModelSpec("attention", 2, 0, np.arange(10, 30), np.arange(5), np.arange(5), config.seed)
    first = spec.batch_order(0)
    assert sorted(first) == list(range(20))
    assert np.array_equal(first, spec.batch_order(0))
    assert not np.array_equal(first, spec.batch_order(1))
    assert not np.array_equal(first, dataclasses.replace(spec, seed=1).batch_order(0))


def _square(x):
    return x * x


def test_parallel_map_keeps_order():
    assert list(parallel_map(_square, range(7), workers=2, progress=False)) == [x * x for x in range(7)]
    assert list(parallel_map(_square, [3], workers=2, progress=False)) == [9]


def test_worker_count():
    from paperlib.core.parallel import worker_count

    assert worker_count(0) >= 1 and worker_count(3) == 3
