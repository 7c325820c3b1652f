"""'Paper vs this run': each claim with what the paper says, what the run measured, a verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from paperlib.core.results import ClaimRecord, Verdict, verdict_of


@dataclass(frozen=True)
class Claim:
    """One claim; `holds` is computed by the caller from measured numbers (None: not testable).
    `key` names a claim that another notebook tests too (the real-GTZAN statistics, notebook 10),
    so that the claims page can put the two verdicts side by side; "" for the others."""

    section: str
    claim: str
    paper: str
    this_run: str
    holds: bool | None
    key: str = ""

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.holds)


COLUMNS = ("section", "claim", "paper", "this_run", "verdict")


def claims_table(claims: list[Claim] | list[ClaimRecord]) -> pd.DataFrame:
    """The claims as a table, one row each, verdict last."""
    return pd.DataFrame([{column: getattr(c, column) for column in COLUMNS} for c in claims],
                        columns=list(COLUMNS))


def records(claims: list[Claim]) -> list[ClaimRecord]:
    """The claims as stored in a step's typed result (metrics.json; the book's claims page)."""
    return [ClaimRecord(**asdict(c)) for c in claims]
