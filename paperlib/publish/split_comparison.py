"""Random vs artist-grouped folds, the numbers: one run's cross-validation results beside its
sibling runs that differ from it only in `split`.

GTZAN repeats artists, so random stratified folds (the paper's protocol) let a model meet an
artist's songs in training and in test; `split: artist` keeps each artist in one fold. Sibling runs
are the run folders beside a run (same parent folder, e.g. `runs/*`) whose manifest records the same
dataset fingerprint and the same result parameters but for `split`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from paperlib.core.config import LOCATION_KEYS, RUNTIME_KEYS, SPLITS, recorded_params
from paperlib.core.registry import artifact
from paperlib.core.results import DataResult, TrainingResult, read_result

IGNORED_KEYS = RUNTIME_KEYS | LOCATION_KEYS | {"split"}  # the keys two sibling runs may differ in
ACCURACIES = ("oof_accuracy", "fold_accuracy_mean", "fold_accuracy_min", "fold_accuracy_max",
              "mfcc_logistic_accuracy", "mean_pool_oof_accuracy")
COLUMNS = ("run", "split", "run_dir", "config_key", "clips", "held_out_clips", "folds", *ACCURACIES,
           "chance")


def json_or_empty(path: Path) -> dict[str, Any]:
    """A JSON object, or {} for a missing or broken file: a sibling folder that is not a run."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_split(manifest: dict[str, Any]) -> str:
    """The run's `split` (a manifest from before `split` existed: the default, random folds)."""
    return str(recorded_params(manifest.get("config") or {}).get("split"))


def compared_params(manifest: dict[str, Any], ignored: frozenset[str] = IGNORED_KEYS) -> dict[str, Any]:
    """The result parameters two sibling runs must share: all but `ignored` (split, runtime and
    location keys); a parameter missing from an older manifest counts at its default."""
    config = recorded_params(manifest.get("config") or {})
    return {k: v for k, v in config.items() if k not in ignored}


def source_fingerprint(manifest: dict[str, Any]) -> str | None:
    """The fingerprint of the whole data folder (fault-filtered runs keep only some of its clips)."""
    return manifest.get("source_fingerprint") or manifest.get("dataset_fingerprint")


def is_sibling(manifest: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether `other` is the same run as `manifest` but for (possibly) its split: same dataset
    fingerprint (both known) and the same compared parameters."""
    fingerprint = source_fingerprint(manifest)
    return (bool(fingerprint) and source_fingerprint(other) == fingerprint
            and compared_params(other) == compared_params(manifest))


def _results(run_dir: Path) -> tuple[DataResult | None, TrainingResult | None]:
    """A run folder's typed results of 01 and 03; None for each one missing or not of this
    version's schema (a sibling folder that cannot be compared)."""
    stored = json_or_empty(run_dir / artifact("metrics").relative())
    found = []
    for kind in (DataResult, TrainingResult):
        try:
            found.append(read_result(kind.step, stored[kind.step], where=str(run_dir)))
        except (KeyError, ValueError):
            found.append(None)
    return found[0], found[1]


def _row(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    data, cv = _results(run_dir)
    row: dict[str, Any] = {
        "run": run_dir.name, "split": run_split(manifest), "run_dir": str(run_dir),
        "config_key": manifest.get("config_key"), "clips": data.clips if data else None,
        "held_out_clips": None, "folds": None, **{key: math.nan for key in (*ACCURACIES, "chance")}}
    if cv is not None:
        ablation = cv.mean_pool_oof_accuracy
        row.update({
            "held_out_clips": cv.held_out_clips, "folds": len(cv.fold_accuracies),
            "oof_accuracy": cv.oof_accuracy, "fold_accuracy_mean": cv.fold_accuracy_mean,
            "fold_accuracy_min": cv.fold_accuracy_min, "fold_accuracy_max": max(cv.fold_accuracies),
            "mfcc_logistic_accuracy": cv.mfcc_logistic_accuracy,
            "mean_pool_oof_accuracy": math.nan if ablation is None else ablation, "chance": cv.chance})
    return row


@dataclass(frozen=True)
class SplitComparison:
    """A run and its sibling runs, one row per split (`table`, indexed by split, random first)."""

    run_dir: Path
    manifest: dict[str, Any]
    table: pd.DataFrame

    @property
    def split(self) -> str:
        return run_split(self.manifest)

    @property
    def dataset(self) -> str:
        return str(compared_params(self.manifest).get("dataset"))

    @property
    def splits(self) -> list[str]:
        return list(self.table.index)

    @property
    def complete(self) -> bool:
        """Whether both random and artist-grouped folds have results."""
        return {"random", "artist"} <= set(self.table.index)

    def drop(self) -> pd.Series | None:
        """Random minus artist for each accuracy (positive: random folds score higher), or None
        while one of the two is missing."""
        if not self.complete:
            return None
        return (self.table.loc["random", list(ACCURACIES)].astype(float)
                - self.table.loc["artist", list(ACCURACIES)].astype(float))


def compare_splits(run_dir: str | Path) -> SplitComparison:
    """The run at `run_dir` beside the sibling run folders (same parent) that differ from it only
    in `split`, one row per split: out-of-fold accuracy, per-fold mean/min/max, the MFCC baseline
    and the mean-pooling ablation (NaN where not recorded). The run itself is always a row; of
    several siblings with one split, the most recently updated one with results is shown."""
    run_dir = Path(run_dir).resolve()
    manifest_name = artifact("manifest").relative()
    manifest = json_or_empty(run_dir / manifest_name)
    rows = {run_split(manifest): _row(run_dir, manifest)}
    candidates = []
    for other in sorted(p for p in run_dir.parent.iterdir() if p.is_dir() and p != run_dir):
        other_manifest = json_or_empty(other / manifest_name)
        if not other_manifest or not is_sibling(manifest, other_manifest):
            continue
        if _results(other)[1] is None:
            continue  # no cross-validation results (of this schema) yet
        candidates.append((str(other_manifest.get("updated", "")), other, other_manifest))
    for _, other, other_manifest in sorted(candidates, key=lambda c: c[0], reverse=True):
        rows.setdefault(run_split(other_manifest), _row(other, other_manifest))
    order = [s for s in SPLITS if s in rows] + sorted(set(rows) - set(SPLITS))
    table = pd.DataFrame([rows[s] for s in order], columns=list(COLUMNS)).set_index("split", drop=False)
    table.index.name = None
    return SplitComparison(run_dir, manifest, table)
