"""'Paper vs this run': each claim with what the paper says, what the run measured, a verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from paperlib.core.results import ClaimRecord, Verdict, verdict_of


@dataclass(frozen=True)
class Claim:
    """One claim; `holds` is computed by the caller from measured numbers (None: not testable)."""

    section: str
    claim: str
    paper: str
    this_run: str
    holds: bool | None

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
