"""Notebook 09's rule: do the attention weights point at what the model uses? Decided from the
deletion curves, as the interpretability literature tests faithfulness (section 3.4 of the paper
reads the attention weights as the model's explanation and judges them by listening)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.analysis.explanations import (
    RANDOM,
    Accounts,
    agreement,
    curve_areas,
    deletion_table,
    paired_less,
)
from paperlib.core.results import Claim, ExplanationsResult, Recovery

ALPHA = 0.05  # one-sided paired Wilcoxon tests on the per-clip deletion areas


def faithful(attention_vs_random_p: float, occlusion_vs_attention_p: float) -> bool:
    """Attention's deletion areas are significantly lower than a random order's, and occlusion's
    are not significantly lower than attention's."""
    return bool(attention_vs_random_p < ALPHA and occlusion_vs_attention_p >= ALPHA)


def faithfulness_claim(areas: pd.DataFrame, attention_vs_random_p: float,
                       occlusion_vs_attention_p: float) -> Claim:
    """`areas`: `analysis.explanations.deletion_table` (probability_area per order)."""
    area = areas["probability_area"]
    this_run = (f"deletion area {area['attention']:.3f} (attention) vs {area[RANDOM]:.3f} (random order), "
                f"p = {attention_vs_random_p:.2g}; occlusion {area['occlusion']:.3f} (is it lower than "
                f"attention's? p = {occlusion_vs_attention_p:.2g})")
    return Claim("3.4", "the attention weights point at what the model uses",
                 "attention weights read as the explanation (judged by listening)", this_run,
                 faithful(attention_vs_random_p, occlusion_vs_attention_p))


def explanations_result(accounts: Accounts, recovery: pd.DataFrame | None, *, seconds: float,
                        gradient_steps: int, random_orders: int) -> ExplanationsResult:
    """`recovery`: `analysis.explanations.recovery_table` (None without a planted moment)."""
    areas = deletion_table(accounts)
    per_clip = {name: curve_areas(curves) for name, curves in accounts.deletion_prob.items()}
    attention_vs_random = paired_less(per_clip["attention"], per_clip[RANDOM])
    occlusion_vs_attention = paired_less(per_clip["occlusion"], per_clip["attention"])
    taus = agreement(accounts.scores).median(skipna=True)
    claims = [faithfulness_claim(areas, attention_vs_random, occlusion_vs_attention)]
    recovered = None if recovery is None else {
        name: Recovery(**{k: (int(v) if k == "clips" else float(v)) for k, v in row.items()})
        for name, row in recovery.iterrows() if row["clips"] > 0}
    missing = ({"recovery": "no planted moment in this dataset"} if recovery is None else
               {"recovery": "no correctly classified clip"} if not recovered else {})
    return ExplanationsResult(
        claims=claims,
        clips=len(accounts.rows), seconds=round(float(seconds), 2),
        gradient_steps=gradient_steps, random_orders=random_orders,
        recovery=recovered or None,
        tau_median={pair: float(t) for pair, t in taus.items() if np.isfinite(t)},
        deletion_probability_area=areas["probability_area"].to_dict(),
        deletion_accuracy_area=areas["accuracy_area"].to_dict(),
        attention_vs_random_p=attention_vs_random, occlusion_vs_attention_p=occlusion_vs_attention,
        missing=missing)
