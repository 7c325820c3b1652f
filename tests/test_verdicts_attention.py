"""Verdict rules of notebooks 07 (attention) and 08 (recommendations) on hand-made numbers."""

import math

import pandas as pd

from paperlib.analysis.attention import FirstOccurrence
from paperlib.claims.attention import (
    ALPHA,
    attention_claims,
    ending_claim,
    examples_claim,
    first_occurrence_claim,
    recovery_claim,
)
from paperlib.claims.recommendations import MEAN_POOLED, MFCC, SIGNATURE, recommendation_claims


def overall(recovery, chance, clips=40):
    return pd.Series({"clips": clips, "recovery": recovery, "chance": chance})


def endings(rows):
    """rows: genre -> (share, p); chance 0.2 as with the last 2 of 10 tokens."""
    return pd.DataFrame({g: {"clips": 20, "in_ending": int(s * 20), "share": s, "chance": 0.2, "p": p}
                         for g, (s, p) in rows.items()}).T


def test_examples_claim_needs_five_of_every_genre():
    five = examples_claim(["blues"] * 5 + ["rock"] * 5)
    assert five.holds is True and five.this_run == "5 per genre (10 clips)"
    three = examples_claim(["blues"] * 3 + ["rock"] * 3)
    assert three.holds is False and three.this_run == "3 per genre (6 clips)"
    uneven = examples_claim(["blues"] * 5 + ["rock"] * 2)
    assert uneven.holds is False and uneven.this_run == "2–5 per genre (7 clips)"


def test_recovery_needs_half_and_twice_chance():
    assert recovery_claim(overall(0.6, 0.2), "synthetic").holds is True
    assert recovery_claim(overall(0.45, 0.1), "synthetic").holds is False  # under 0.5
    assert recovery_claim(overall(0.7, 0.4), "synthetic").holds is False  # under 2x chance
    assert recovery_claim(overall(0.5, 0.2), "synthetic").holds is True  # 0.5 itself is enough
    assert recovery_claim(overall(float("nan"), float("nan"), 0), "synthetic").holds is False
    claim = recovery_claim(overall(0.6, 0.2), "synthetic")
    assert claim.this_run == "recovery 0.60 vs chance 0.20 (40 correct clips)"
    gtzan = recovery_claim(None, "gtzan")
    assert gtzan.holds is None and gtzan.this_run == "no ground truth in gtzan"


def test_first_occurrence_needs_share_above_chance_and_significance():
    first = FirstOccurrence(clips=50, first=30, share=0.6, chance=0.4)
    assert first_occurrence_claim(first, 0.01).holds is True
    assert first_occurrence_claim(first, ALPHA).holds is False  # p must be below alpha
    below = FirstOccurrence(clips=50, first=15, share=0.3, chance=0.4)
    assert first_occurrence_claim(below, 0.001).holds is False  # significant, but not above chance
    none = first_occurrence_claim(FirstOccurrence(0, 0, math.nan, math.nan), math.nan)
    assert none.holds is None
    assert first_occurrence_claim(first, 0.0123, 0.9).this_run == (
        "top token first of its group in 0.60 of 50 clips vs chance 0.40 (p = 0.012, similarity >= 0.9)")


def test_endings_need_classical_and_blues_both_above_chance():
    both = ending_claim(endings({"blues": (0.5, 0.01), "classical": (0.45, 0.02), "rock": (0.0, 1.0)}), 2)
    assert both.holds is True
    assert both.this_run == ("classical: 0.45 of peaks in the last 2 tokens vs 0.20 (p = 0.02); "
                             "blues: 0.50 of peaks in the last 2 tokens vs 0.20 (p = 0.01)")
    one = ending_claim(endings({"blues": (0.5, 0.01), "classical": (0.3, 0.2)}), 2)
    assert one.holds is False  # classical not significant
    low = ending_claim(endings({"blues": (0.1, 0.01), "classical": (0.45, 0.02)}), 2)
    assert low.holds is False  # blues below chance
    missing = ending_claim(endings({"blues": (0.5, 0.01), "rock": (0.5, 0.01)}), 2)
    assert missing.holds is None and missing.this_run.startswith("blues:")


def test_attention_claims_in_order():
    claims = attention_claims(["blues"] * 5, overall(0.6, 0.2), FirstOccurrence(0, 0, math.nan, math.nan),
                              math.nan, endings({"blues": (0.5, 0.01)}), dataset="synthetic", last=2)
    assert [c.section for c in claims] == ["3.4.1", "3.4.2", "3.4.2", "3.4.2"]
    assert [c.holds for c in claims] == [True, True, None, None]


def test_recommendation_claims():
    precision = {SIGNATURE: 0.5, MEAN_POOLED: 0.4, MFCC: 0.3}
    claims = recommendation_claims(precision, 0.1, k=5, mean_source="mean-pooling model (ablation)")
    assert [c.holds for c in claims] == [True, True, True, None]
    assert claims[0].this_run == "precision@5 0.500 on held-out queries vs chance 0.100"
    assert claims[1].this_run == "0.500 vs 0.400 (mean-pooling model (ablation))"
    worse = recommendation_claims({SIGNATURE: 0.3, MEAN_POOLED: 0.4, MFCC: 0.35}, 0.15, k=5, mean_source="x")
    assert [c.holds for c in worse] == [False, False, False, None]  # 0.3 is not more than 2 x 0.15
    tied = recommendation_claims({SIGNATURE: 0.4, MEAN_POOLED: 0.4, MFCC: 0.4}, 0.1, k=5, mean_source="x")
    assert [c.holds for c in tied] == [True, False, False, None]
