"""Notebook 01's verdicts: token size, length, overlap and count, and the GTZAN clip count (section 2.2)."""

from __future__ import annotations

from collections.abc import Sequence

from paperlib.core.config import Config
from paperlib.core.results import Claim, DataResult
from paperlib.data.features import token_geometry, token_seconds, token_starts
from paperlib.data.prepare import PreparationReport, Prepared

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


def data_result(prepared: Prepared, report: PreparationReport, config: Config) -> DataResult:
    """Notebook 01's typed result: the clips, the token geometry and, on synthetic data, how the
    planted moments fall on tokens; with its claims."""
    tracks = prepared.tracks
    windows, geometry = token_seconds(config), token_geometry(config)
    token_shape = prepared.tokens_of(slice(0, 1)).shape[1:]
    token_s = float(windows[0, 1] - windows[0, 0])
    overlap_s = float(geometry["overlap_with_next_s"].dropna().mean())
    claims = data_claims(token_shape, token_s, overlap_s, clips=report.folder_clips, config=config,
                         usable=len(tracks))
    moments, missing = {}, {}
    if "motif_tokens" in tracks:
        covering = tracks["motif_tokens"].astype(str).str.split(";").str.len()
        moments = {"moment_covered_by_one_token": float((covering == 1).mean()),
                   "chance_top1_recovery": float(covering.mean() / config.n_tokens)}
    else:
        moments = {"moment_covered_by_one_token": None, "chance_top1_recovery": None}
        missing = {name: f"the {config.dataset} dataset has no planted moments" for name in moments}
    return DataResult(
        dataset=config.dataset, source=config.source, clips=len(tracks), skipped=len(report.skipped),
        skipped_clips=report.skipped, left_out_by_split=len(report.left_out),
        listed_but_missing=report.missing_listed,
        clips_per_genre=tracks["genre"].value_counts().sort_index().to_dict(),
        image_rows=int(prepared.images.shape[1]), image_frames=int(prepared.images.shape[2]),
        token_shape=list(token_shape), token_seconds=token_s, token_overlap_seconds=overlap_s,
        token_start_frames=token_starts(config).tolist(), cache_hit=report.cache_hit,
        seconds=report.seconds, fingerprint=report.dataset.fingerprint, **moments,
        claims=claims, missing=missing)
