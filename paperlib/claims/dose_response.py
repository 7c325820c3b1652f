"""The dose-response of "attention pooling beats mean pooling" (abstract): per setting of one
difficulty axis, the two poolings' accuracy and their difference over seeds (mean and 95% t
interval), McNemar's exact test on the clips of every seed together, attention's recovery of the
planted moment against chance, and one claim per setting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.analysis.confusion import mcnemar_from_counts
from paperlib.analysis.dose_response import DIFFICULTY_AXES, PoolingComparison
from paperlib.claims.across_seeds import spread
from paperlib.claims.confusion import SIGNIFICANCE
from paperlib.core.results import Claim

AXIS_WORDS = {"decoys": "decoys per clip", "motif_db": "moment's level above the mix (dB)",
              "clips_per_genre": "clips per genre"}


def difficulty_axis(comparisons: list[PoolingComparison]) -> str | None:
    """The difficulty axis the runs vary (None while they vary none); refuses runs that vary two,
    whose settings one table by one axis would mix."""
    varied = [axis for axis in DIFFICULTY_AXES if len({c.setting[axis] for c in comparisons}) > 1]
    if len(varied) > 1:
        raise ValueError(f"The runs vary {' and '.join(varied)}: a dose-response reads one difficulty "
                         f"axis at a time; sweep one of them with the others fixed (--set {varied[0]}=...).")
    return varied[0] if varied else None


def dose_response_table(comparisons: list[PoolingComparison], axis: str) -> pd.DataFrame:
    """One row per value of `axis` (the runs' other settings are assumed equal): seeds, each
    pooling's accuracy and the paired difference (mean, 95% interval), McNemar's counts and
    exact p over all its clips, the verdict (attention ahead, mean ahead, or no difference at
    SIGNIFICANCE), and recovery against chance."""
    if axis not in DIFFICULTY_AXES:
        raise ValueError(f"axis {axis!r} is not a difficulty axis; expected one of {DIFFICULTY_AXES}.")
    rows = []
    for value in sorted({c.setting[axis] for c in comparisons}):
        group = [c for c in comparisons if c.setting[axis] == value]
        attention = spread("attention", "attention", [c.attention_accuracy for c in group])
        mean = spread("mean", "mean", [c.mean_accuracy for c in group])
        difference = spread("difference", "difference",
                            [c.attention_accuracy - c.mean_accuracy for c in group])
        found = spread("recovery", "recovery", [c.recovery for c in group])
        b, c = sum(g.attention_only for g in group), sum(g.mean_only for g in group)
        p = mcnemar_from_counts(b, c).p_value
        verdict = ("attention ahead" if p < SIGNIFICANCE and b > c else
                   "mean pooling ahead" if p < SIGNIFICANCE and c > b else "no difference")
        rows.append({axis: value, "seeds": len(group), "clips": sum(g.clips for g in group),
                     "attention": attention.mean, "attention_low": attention.low, "attention_high": attention.high,
                     "mean": mean.mean, "mean_low": mean.low, "mean_high": mean.high,
                     "difference": difference.mean, "difference_low": difference.low,
                     "difference_high": difference.high, "attention_only": b, "mean_only": c,
                     "mcnemar_p": p, "verdict": verdict, "recovery": found.mean,
                     "recovery_low": found.low, "recovery_high": found.high,
                     "chance": float(np.mean([g.chance for g in group]))})
    return pd.DataFrame(rows).set_index(axis)


def pooling_claims(table: pd.DataFrame) -> list[Claim]:
    """"attention beats mean pooling" at each setting: holds where the pooled McNemar test puts
    attention ahead."""
    axis = table.index.name
    return [Claim("abstract", f"attention beats mean pooling (p < {SIGNIFICANCE:g}) at "
                              f"{axis} = {value:g}", "enhances classification accuracy",
                  f"{row['attention']:.3f} vs {row['mean']:.3f} over {row['seeds']} seeds, "
                  f"McNemar p = {row['mcnemar_p']:.3g} ({row['attention_only']} vs {row['mean_only']} clips)",
                  row["verdict"] == "attention ahead", key=f"dose:{axis}={value:g}")
            for value, row in table.iterrows()]


def where_it_holds(table: pd.DataFrame) -> str:
    """One sentence: the settings where attention pooling beats mean pooling, or that it never does."""
    axis = table.index.name
    ahead = [f"{v:g}" for v, row in table.iterrows() if row["verdict"] == "attention ahead"]
    behind = [f"{v:g}" for v, row in table.iterrows() if row["verdict"] == "mean pooling ahead"]
    if not ahead:
        said = f"Attention pooling beats mean pooling at no setting of {axis} ({', '.join(f'{v:g}' for v in table.index)})"
    else:
        said = f"Attention pooling beats mean pooling at {axis} = {', '.join(ahead)}"
        rest = [f"{v:g}" for v in table.index if f"{v:g}" not in ahead]
        if rest:
            said += f", not at {', '.join(rest)}"
    if behind:
        said += f"; mean pooling is ahead at {', '.join(behind)}"
    return said + f" (McNemar's exact test over every seed's held-out clips, p < {SIGNIFICANCE:g})."
