"""'Paper vs this run' as a table: each claim with what the paper says, what the run measured and
its verdict (the claim itself is `core.results.Claim`, the type every step's result stores)."""

from __future__ import annotations

import pandas as pd

from paperlib.core.results import Claim

COLUMNS = ("section", "claim", "paper", "this_run", "verdict")


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    """The claims as a table, one row each, verdict last."""
    return pd.DataFrame([{column: getattr(c, column) for column in COLUMNS} for c in claims],
                        columns=list(COLUMNS))
