"""Random vs artist-grouped folds, the book page: the leakage in plain words and, from
`split_comparison`, both splits side by side with the drop, or the command for the missing one."""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from typing import Any

from paperlib.core import paths
from paperlib.core.config import SPLITS
from paperlib.data.folds import SPLIT_LABELS
from paperlib.publish.markdown import md_code, md_escape
from paperlib.publish.run_reader import assignment
from paperlib.publish.split_comparison import SplitComparison

PAGE = "splits"  # the book page (splits.md)
TITLE = "Random vs artist-grouped folds"
_MAKE_SAFE = re.compile(r"^[^\s\"'$`\\#]+$")  # an assignment that survives PARAMS="..." unquoted


def display_path(path: Path) -> str:
    """A run folder as `run_dir=` takes it: relative to the project root when inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(paths.project_root()))
    except ValueError:
        return str(path)


def sibling_run_dir(comparison: SplitComparison, split: str) -> Path:
    """Where the run with `split` instead of the run's own goes: `<base>-<split>` beside the run
    (for random, `<base>` itself), `<base>` being the run's name less a `-<split>` suffix. A folder
    there made with other parameters is refused by the run with a message saying so."""
    name = comparison.run_dir.name
    base = re.sub("|".join(f"-{re.escape(s)}$" for s in SPLITS), "", name) or name
    own = base if split == "random" and base != name else f"{base}-{split}"
    return comparison.run_dir.parent / own


def reproduce_other_command(parameters: dict[str, Any], split: str, run_dir: Path) -> str:
    """The command that makes the run with `split` (the run's own profile and overrides otherwise)
    into `run_dir`: `make reproduce ... PARAMS="..."`, or `paperlib reproduce` where a value would
    not survive the Makefile's word splitting."""
    overrides = {k: v for k, v in (parameters.get("overrides") or {}).items()
                 if k not in ("split", "run_dir")}
    assignments = [assignment("split", split), assignment("run_dir", display_path(run_dir))]
    assignments += [assignment(k, v) for k, v in sorted(overrides.items())]
    profile = str(parameters["profile"])
    if all(_MAKE_SAFE.match(a) for a in [profile, *assignments]):
        return f'make reproduce PROFILE={profile} PARAMS="{" ".join(assignments)}"'
    sets = " ".join(f"--set {shlex.quote(a)}" for a in assignments)
    return f".venv/bin/paperlib reproduce --profile {shlex.quote(profile)} {sets}"


def _fmt(value: Any, *, count: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return str(int(value)) if count else f"{float(value):.3f}"


def _signed(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:+.3f}"


def comparison_table(comparison: SplitComparison) -> list[str]:
    """Markdown lines: the metrics as rows, one column per split (and the drop when both exist)."""
    table, drop = comparison.table, comparison.drop()
    held_out = "out-of-fold accuracy"
    if "fault-filtered" in table.index:
        held_out = "held-out accuracy (out of fold; fault-filtered: the test list)"
    labels = {"oof_accuracy": held_out, "fold_accuracy_mean": "mean fold accuracy",
              "fold_accuracy_min": "lowest fold", "fold_accuracy_max": "highest fold",
              "mfcc_logistic_accuracy": "MFCC baseline (logistic regression, same folds)",
              "mean_pool_oof_accuracy": "mean pooling (ablation), held out",
              "chance": "chance", "folds": "folds", "clips": "clips",
              "held_out_clips": "held-out clips"}
    counts = ("folds", "clips", "held_out_clips")
    shown = [k for k in labels if not table[k].isna().all()]
    lines = ["| | " + " | ".join(f"{md_escape(SPLIT_LABELS.get(s, s))} (run {md_escape(r)})"
                                 for s, r in zip(table["split"], table["run"]))
             + (" | random − artist |" if drop is not None else " |")]
    lines.append("|---|" + "---:|" * (len(table) + (drop is not None)))
    for key in shown:
        cells = [_fmt(v, count=key in counts) for v in table[key]]
        if drop is not None:
            cells.append(_signed(float(drop[key])) if key in drop.index else "")
        lines.append(f"| {labels[key]} | " + " | ".join(cells) + " |")
    return lines


LEAKAGE = (
    "GTZAN holds many excerpts by the same artist, often from the same album and some from the same "
    "recording; Sturm's analysis of the collection lists these repetitions and his artist index "
    "names the artist of every excerpt (Sturm 2013, see [References](references.md)). Random "
    "stratified folds, the paper's protocol, put one artist's excerpts on both sides of a split, so "
    "a model can score by recognising the artist, the production or the recording rather than the "
    "genre, and its accuracy is inflated. This project's `split: artist` builds stratified folds "
    "that keep every artist (by Sturm's index, downloaded and SHA-256-checked on first use) in one "
    "fold. Running the same parameters both ways on the same data measures how much of the accuracy "
    "the leakage accounts for.")


def drop_statement(comparison: SplitComparison) -> str:
    """The drop from random to artist-grouped folds in one or two plain sentences."""
    drop = comparison.drop()
    if drop is None:
        raise ValueError("Both random and artist-grouped folds are needed to state a drop.")
    rand, art = comparison.table.loc["random"], comparison.table.loc["artist"]
    oof = float(drop["oof_accuracy"])
    if math.isnan(oof):
        text = "One of the two runs recorded no out-of-fold accuracy, so no drop can be stated."
    elif oof > 0:
        text = (f"Keeping each artist in one fold lowers the out-of-fold accuracy from "
                f"{rand['oof_accuracy']:.3f} to {art['oof_accuracy']:.3f}: a drop of {oof:.3f} "
                f"({100 * oof:.1f} percentage points), what random folds gain by letting an artist "
                "appear in both training and test (one run of each, so fold-to-fold noise is part "
                "of it).")
    elif oof < 0:
        text = (f"Here the artist-grouped folds score higher than the random ones "
                f"({art['oof_accuracy']:.3f} vs {rand['oof_accuracy']:.3f}, {-oof:.3f} more): "
                "this comparison shows no accuracy inflated by artist leakage.")
    else:
        text = f"Both splits give the same out-of-fold accuracy ({rand['oof_accuracy']:.3f}): no drop."
    mfcc = float(drop["mfcc_logistic_accuracy"])
    if not math.isnan(mfcc):
        text += (f" The MFCC baseline goes from {rand['mfcc_logistic_accuracy']:.3f} to "
                 f"{art['mfcc_logistic_accuracy']:.3f} (random − artist = {mfcc:+.3f}).")
    return text


def split_page(comparison: SplitComparison, parameters: dict[str, Any]) -> str:
    """`splits.md`: the leakage in plain words and, from `comparison`, both splits side by side with
    the drop, or the split(s) run so far and the command that runs each missing one. `parameters`
    are the run's papermill parameters ({"profile": ..., "overrides": {...}}), reused there."""
    name = md_code(comparison.run_dir.name)
    out = [f"# {TITLE}", "", LEAKAGE, "",
           "This page is generated from the `metrics.json` of this run and of the run folders "
           "beside it that share its dataset fingerprint and every result parameter but `split`.", ""]
    table = comparison.table
    if comparison.dataset != "gtzan":
        paper = paths.runs_dir() / "paper"
        artist = paper.parent / "paper-artist"
        out += ["## This run", "",
                f"This run ({name}) uses the **{md_escape(comparison.dataset)}** dataset, which has "
                "no artists: every clip is generated on its own, so there is no artist leakage to "
                "measure, and artist-grouped folds apply to GTZAN only (the configuration refuses "
                f"`split=artist` for this dataset). Its {md_escape(comparison.split)} folds gave:", "",
                *comparison_table(comparison), "",
                "On GTZAN, the two runs side by side come from:", "", "```bash",
                "make reproduce PROFILE=paper",
                f'make reproduce PROFILE=paper PARAMS="split=artist run_dir={display_path(artist)}"',
                "```", "",
                f"and the book of either run (`.venv/bin/paperlib book --run {display_path(paper)}`) "
                "then shows this comparison."]
        return "\n".join(out) + "\n"
    if comparison.complete:
        out += ["## Both splits", "", *comparison_table(comparison), "",
                f"**{drop_statement(comparison)}**", ""]
        return "\n".join(out) + "\n"
    runs = [f"**{md_escape(s)}** (run {md_code(r)})" for s, r in zip(table["split"], table["run"])]
    out += ["## Not both splits yet", "",
            (f"Only the {runs[0]} split has been run with these parameters:" if len(runs) == 1 else
             f"These parameters have been run with the {', '.join(runs)} splits:"), "",
            *comparison_table(comparison), ""]
    for other in (s for s in ("random", "artist") if s not in table.index):
        target = sibling_run_dir(comparison, other)
        out.append(f"Run the **{other}** split as a sibling run folder, "
                   f"{md_code(display_path(target))} (a folder of its own: a run folder refuses other "
                   "parameters; finished folds there are reused), with:")
        out += ["", "```bash", reproduce_other_command(parameters, other, target), "```", ""]
    out.append(f"Then rebuild this book (`.venv/bin/paperlib book --run "
               f"{display_path(comparison.run_dir)}`) to see random and artist-grouped folds side by "
               "side.")
    return "\n".join(out) + "\n"
