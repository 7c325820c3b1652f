"""How often each claim holds across a sweep's members, and the key numbers' spread.

A claim *holds* across seeds when it holds in at least 80% of the members where it was testable,
*does not hold* in at most 20%, and is *unstable* in between; never testable: *not testable here*.
The share's 95% interval is Wilson's (scipy); a number's interval is the t interval of its mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from paperlib.core.results import StepResult
from paperlib.core.sweep_record import ClaimTally, GroupSummary, Spread, SweepVerdict

HOLDS_FROM, FAILS_UP_TO = 0.8, 0.2
CONFIDENCE = 0.95

# (step, field) -> label: the numbers a sweep reports as mean, spread and interval
NUMBERS = {
    ("03_cv_training", "oof_accuracy"): "out-of-fold accuracy (attention model)",
    ("03_cv_training", "mean_pool_oof_accuracy"): "out-of-fold accuracy, mean pooling (ablation)",
    ("03_cv_training", "mfcc_logistic_accuracy"): "out-of-fold accuracy, MFCC baseline",
    ("07_attention_listening", "recovery"): "attention recovery of the planted moment",
}

MemberResults = Mapping[str, Mapping[str, StepResult]]  # member -> step -> its typed result


def sweep_verdict(holds: int, testable: int) -> SweepVerdict:
    """The verdict of a claim that held in `holds` of the `testable` members."""
    if not 0 <= holds <= testable:
        raise ValueError(f"holds must lie in 0..testable, got holds={holds}, testable={testable}.")
    if testable == 0:
        return "not testable here"
    share = holds / testable
    return "holds" if share >= HOLDS_FROM else "does not hold" if share <= FAILS_UP_TO else "unstable"


def share_interval(holds: int, testable: int) -> tuple[float | None, float | None]:
    """The 95% Wilson interval of holds / testable (None, None when never testable)."""
    if testable == 0:
        return None, None
    ci = stats.binomtest(holds, testable).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def tally_claims(results: MemberResults) -> list[ClaimTally]:
    """Every claim any member recorded, in the notebooks' order, with its count across members."""
    seen: dict[tuple[str, str, str], dict] = {}
    for steps in results.values():
        for step in sorted(steps):
            for claim in steps[step].claims:
                entry = seen.setdefault((step, claim.section, claim.claim),
                                        {"paper": claim.paper, "holds": 0, "testable": 0, "members": 0})
                entry["members"] += 1
                if claim.holds is not None:
                    entry["testable"] += 1
                    entry["holds"] += int(claim.holds)
    tallies = []
    for (step, section, text), entry in sorted(seen.items(), key=lambda kv: kv[0][0]):
        holds, testable = entry["holds"], entry["testable"]
        low, high = share_interval(holds, testable)
        tallies.append(ClaimTally(
            step=step, section=section, claim=text, paper=entry["paper"], holds=holds,
            testable=testable, members=entry["members"],
            share=holds / testable if testable else None, low=low, high=high,
            verdict=sweep_verdict(holds, testable)))
    return tallies


def spread(name: str, label: str, values: Sequence[float]) -> Spread:
    """Mean, sample standard deviation and 95% t interval of the mean (None where undefined)."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(values)
    mean = float(np.mean(values)) if n else None
    sd = float(np.std(values, ddof=1)) if n > 1 else None
    low = high = None
    if n > 1:
        if sd == 0:
            low = high = mean
        else:
            low, high = (float(x) for x in stats.t.interval(CONFIDENCE, n - 1, loc=mean,
                                                            scale=sd / math.sqrt(n)))
    return Spread(name=name, label=label, values=values, mean=mean, sd=sd, low=low, high=high)


def number_spreads(results: MemberResults) -> list[Spread]:
    """The NUMBERS that at least one member recorded, each across the members that have it."""
    out = []
    for (step, field), label in NUMBERS.items():
        values = [getattr(steps[step], field) for steps in results.values() if step in steps]
        if any(v is not None for v in values):
            out.append(spread(f"{step}.{field}", label, values))
    return out


def summarize_group(label: str, values: dict, results: MemberResults) -> GroupSummary:
    """What the members of one group (same grid values but the seed) say together."""
    return GroupSummary(label=label, values=values, members=sorted(results),
                        claims=tally_claims(results), numbers=number_spreads(results))
