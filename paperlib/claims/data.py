"""Notebook 01's verdicts: token size, length, overlap and count, and the GTZAN clip count (section 2.2)."""

from __future__ import annotations

from collections.abc import Sequence

from paperlib.claims.claim import Claim
from paperlib.core.config import Config

PAPER_TOKEN_SIZE = (217, 45)  # mel rows x frames
PAPER_TOKEN_SECONDS = 4.0
TOKEN_SECONDS_TOLERANCE = 0.1  # "exactly 4 s", within a tenth of a second
PAPER_OVERLAP_SECONDS = 1.0
OVERLAP_TOLERANCE = 0.25  # "around 1 s"
PAPER_TOKENS = 10
GTZAN_CLIPS = 1000


def clip_count_holds(clips: int, dataset: str) -> bool | None:
    """Whether there are GTZAN's 1000 clips; only testable on GTZAN itself (None otherwise)."""
    return clips == GTZAN_CLIPS if dataset == "gtzan" else None


def data_claims(token_shape: Sequence[int], token_seconds: float, overlap_seconds: float,
                clips: int, config: Config, usable: int | None = None) -> list[Claim]:
    """Section 2.2 claims from one clip's token array shape (tokens, rows, frames), the length of a
    token and the mean overlap of neighbouring tokens in seconds, and the clips in the data folder
    (`usable`: those the run keeps, after unreadable files and any split list)."""
    size = tuple(int(n) for n in token_shape[1:])
    kept = f", {usable} used" if usable is not None and usable != clips else ""
    return [
        Claim("2.2", "tokens are 217 x 45", "217 x 45", f"{size[0]} x {size[1]}", size == PAPER_TOKEN_SIZE),
        Claim("2.2", "a token is 4 seconds", "exactly 4 s", f"{token_seconds:.2f} s",
              bool(abs(token_seconds - PAPER_TOKEN_SECONDS) < TOKEN_SECONDS_TOLERANCE)),
        Claim("2.2", "tokens overlap by about 1 second", "around 1 s", f"{overlap_seconds:.2f} s (mean)",
              bool(abs(overlap_seconds - PAPER_OVERLAP_SECONDS) < OVERLAP_TOLERANCE)),
        Claim("2.2", "10 tokens per piece", "10", str(config.n_tokens), config.n_tokens == PAPER_TOKENS),
        Claim("2.2", "GTZAN: 1000 clips of 30 s in 10 genres", "1000 clips", f"{clips} {config.dataset} clips{kept}",
              clip_count_holds(clips, config.dataset)),
    ]
