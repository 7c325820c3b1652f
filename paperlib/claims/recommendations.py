"""Notebook 08's 'paper vs this run' rules: recommendations by signature (section 3.5)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from paperlib.analysis.recommendations import MEAN_POOLED_SOURCES, same_genre_share
from paperlib.core.results import Claim, RecommendationResult

SIGNATURE = "attention signature"  # the keys of notebook 08's genre precision@k table
MEAN_POOLED = "mean-pooled embedding"
MFCC = "MFCC statistics"
PRECISION_CHANCE_FACTOR = 2  # the signature "recommends the query's genre": precision > 2x chance


def genre_precision_holds(precision: float, chance: float) -> bool:
    """The signature's genre precision@k is more than twice chance."""
    return bool(precision > PRECISION_CHANCE_FACTOR * chance)


def recommendation_claims(precision: Mapping[str, float], chance: float, *, k: int,
                          mean_source: str, dataset: str = "synthetic") -> list[Claim]:
    """Notebook 08's claims from genre precision@k per embedding (keys SIGNATURE, MEAN_POOLED, MFCC),
    the chance precision of the held-out search and where the mean-pooled embeddings came from."""
    p_att, p_mean, p_mfcc = precision[SIGNATURE], precision[MEAN_POOLED], precision[MFCC]
    return [
        Claim("3.5.1", "the signature recommends pieces of the query's genre",
              "top five recommendations by signature k-NN, judged effective",
              f"precision@{k} {p_att:.3f} on held-out queries vs chance {chance:.3f}",
              genre_precision_holds(p_att, chance)),
        Claim("abstract / 3.5", "the attention signature recommends better than mean-pooled embeddings",
              "attention captures the most significant moments, crafting the signature",
              f"{p_att:.3f} vs {p_mean:.3f} ({mean_source})", bool(p_att > p_mean)),
        Claim("1 / 3.5", "the signature recommends better than clip-level MFCC statistics",
              "hand-crafted features capture some, but not all, of musical structure",
              f"{p_att:.3f} vs {p_mfcc:.3f} (standardised MFCC means and deviations)", bool(p_att > p_mfcc)),
        Claim("3.5.2", "recommendations share instrumentation, tempo and metre (string-only pieces, 3/4 time)",
              "observed by listening on GTZAN",
              ("not testable: the synthetic clips have no instruments, metre or mood to compare"
               if dataset == "synthetic" else
               "not measured: judged by listening (the players above)"), None),
    ]


def recommendation_result(*, precision: Mapping[str, float], chance: float, chance_all: float,
                          mean_source: str, queries: np.ndarray, indices: np.ndarray,
                          tracks: pd.DataFrame, k: int, dataset: str) -> RecommendationResult:
    """Notebook 08's typed result from genre precision@k per embedding, the chance levels, where the
    mean-pooled embeddings came from (a key of `MEAN_POOLED_SOURCES`) and the example queries with
    their recommendations (rows of `tracks`); with its claims."""
    claims = recommendation_claims(precision, chance, k=k, mean_source=MEAN_POOLED_SOURCES[mean_source],
                                   dataset=dataset)
    ids = tracks["track_id"].to_numpy()
    return RecommendationResult(
        precision_at_5={name: float(value) for name, value in precision.items()}, chance=chance,
        chance_all_others=chance_all, mean_pooled_source=mean_source,
        examples=[{"query": str(ids[q]), "recommendations": [str(t) for t in ids[near]]}
                  for q, near in zip(queries, indices)],
        examples_same_genre_share=same_genre_share(tracks["label"].to_numpy(), queries, indices),
        claims=claims)
