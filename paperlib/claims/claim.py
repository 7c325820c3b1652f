"""'Paper vs this run': each claim with what the paper says, what the run measured, a verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Claim:
    """One claim; `holds` is computed by the caller from measured numbers (None: not testable)."""

    section: str
    claim: str
    paper: str
    this_run: str
    holds: bool | None

    @property
    def verdict(self) -> str:
        return {True: "holds", False: "does not hold", None: "not testable here"}[self.holds]


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    rows = [{**asdict(c), "verdict": c.verdict} for c in claims]
    return pd.DataFrame(rows, columns=["section", "claim", "paper", "this_run", "verdict"])


def claims_record(claims: list[Claim]) -> list[dict[str, object]]:
    """The claims as plain data for metrics.json (the book's claims page reads them)."""
    return [{**asdict(c), "verdict": c.verdict} for c in claims]
