"""The book's "Attention against mean pooling, by difficulty" page: from a sweep over a difficulty
axis of the synthetic data (decoys of the paired genre's motif, the moment's level, clips per genre)
and seeds, the two poolings per setting with intervals over seeds, McNemar's test and attention's
recovery of the planted moment; or, without such a sweep, the command that makes one."""

from __future__ import annotations

from pathlib import Path

from paperlib.analysis.dose_response import DIFFICULTY_AXES, PoolingComparison, compare_poolings
from paperlib.claims.dose_response import (
    AXIS_WORDS,
    difficulty_axis,
    dose_response_table,
    pooling_claims,
    where_it_holds,
)
from paperlib.core import paths
from paperlib.core.registry import sweep_artifact
from paperlib.core.results import Claim
from paperlib.core.run_folder import RunFolderError, open_existing_run
from paperlib.core.sweep_record import SweepFolder, SweepRecord
from paperlib.publish.markdown import md_code, md_escape

PAGE = "dose_response"  # the book page (dose_response.md)
TITLE = "Attention against mean pooling, by difficulty"
FIGURE = "dose_response.png"


def command(profile: str, dataset: str, run_dir: str) -> str:
    """The dose-response sweep and the book of the run at `run_dir` again: steps 01 and 03 with
    the ablation are all a comparison needs; the sweep uses the run's profile where the run's data
    is synthetic (a GTZAN profile cannot vary the synthetic data: the default profile then)."""
    sweep_profile = profile if dataset == "synthetic" else "default"
    return (f".venv/bin/paperlib sweep --profile {sweep_profile} --set seed=42,7,1 --set motif_db=2,4,6,8 "
            f"--set folds=3 --set ablation=true --name sweep-motif --notebooks 01_data,03_cv_training\n"
            f".venv/bin/paperlib book --run {run_dir}")


def has_difficulty_axis(record: SweepRecord) -> bool:
    return any(len(record.axes.get(axis, [])) > 1 for axis in DIFFICULTY_AXES)


def dose_sweep(profile: str) -> SweepFolder | None:
    """The most recently updated sweep under the runs folder whose grid varies a difficulty axis:
    of `profile` where there is one, else of any profile (the page names it)."""
    found = []
    for record_path in paths.runs_dir().glob(f"*/{sweep_artifact('sweep_record').relative()}"):
        folder = SweepFolder(record_path.parent)
        try:
            record = folder.read()
        except RunFolderError:
            continue
        if has_difficulty_axis(record):
            found.append((record.profile == profile, record.updated, str(folder.path)))
    return SweepFolder(Path(max(found)[2])) if found else None


def sweep_comparisons(record: SweepRecord, folder: SweepFolder) -> tuple[list[PoolingComparison], list[str]]:
    """The done members' comparisons, and why any done member could not be read."""
    comparisons, problems = [], []
    for member in (m for m in record.members if m.status == "done"):
        try:
            comparisons.append(compare_poolings(open_existing_run(folder.member_dir(member.name))))
        except (RunFolderError, ValueError, OSError, KeyError) as error:
            problems.append(f"{member.name}: {error}")
    return comparisons, problems


def _cell(mean: float, low: float | None, high: float | None) -> str:
    unknown = low is None or high is None or high != high  # one seed: no interval
    return f"{mean:.3f}" + ("" if unknown else f" [{low:.3f}, {high:.3f}]")


def dose_response_page(record: SweepRecord, folder: SweepFolder,
                       build_dir: Path) -> tuple[str, tuple[str, list[Claim]] | None]:
    """`dose_response.md` from a sweep (its figure written beside it in `build_dir`), and for the
    claims page the sentence of where attention wins and a claim per setting (None while the
    sweep covers fewer than two settings)."""
    comparisons, problems = sweep_comparisons(record, folder)
    try:
        axis, refused = difficulty_axis(comparisons), None
    except ValueError as error:
        axis, refused = None, str(error)
    fixed = {k: v[0] for k, v in record.axes.items() if len(v) == 1}
    out = [f"# {TITLE}", "",
           "The paper's abstract says the attention-weighted signature \"enhances classification "
           "accuracy\"; its ablation would be the same CNN with a plain mean of the token embeddings. "
           "Whether attention *should* win depends on the data: with one loud signature moment among "
           "neutral tokens, a token CNN can learn to ignore the rest, and a mean then suffices. The "
           "synthetic data can make the moment harder to find: `decoys` plants quieter slides of the "
           "paired genre's motif elsewhere in each clip of a confusable pair (a mean of the tokens then "
           "sees evidence for both genres), `motif_db` sets the moment's level above the mix, "
           "`clips_per_genre` the data.", "",
           f"Generated from the sweep {md_code(record.name)} ({md_code(folder.path)}), profile "
           f"{md_code(record.profile)}, {len(comparisons)} members done"
           + (f"; every member with {', '.join(f'{k}={v}' for k, v in fixed.items())}" if fixed else "")
           + ". Each number is the mean over seeds with its 95% t interval; McNemar's exact test "
             "pools every seed's held-out clips of a setting (attention right and mean wrong, against "
             "the other way round).", ""]
    if problems:
        out += ["Members that could not be read: " + "; ".join(md_escape(p) for p in problems), ""]
    if refused:
        out += [md_escape(refused), ""]
        return "\n".join(out) + "\n", None
    if axis is None:
        out += ["The done members do not yet cover two settings of a difficulty axis "
                f"({', '.join(DIFFICULTY_AXES)}); run the sweep again to finish it.", ""]
        return "\n".join(out) + "\n", None
    table = dose_response_table(comparisons, axis)
    from paperlib.figures.plots import dose_response

    figure = dose_response(table, label=AXIS_WORDS[axis])
    figure.savefig(build_dir / FIGURE, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(figure)
    out += [f"**{where_it_holds(table)}**", "", f"![{TITLE}]({FIGURE})", "",
            f"| {axis} | seeds | attention | mean pooling | difference | attention only / mean only "
            "| McNemar p | verdict | recovery | chance |",
            "|---:|---:|---|---|---|---|---:|---|---|---:|"]
    for value, row in table.iterrows():
        out.append(f"| {value:g} | {row['seeds']} | {_cell(row['attention'], row['attention_low'], row['attention_high'])} "
                   f"| {_cell(row['mean'], row['mean_low'], row['mean_high'])} "
                   f"| {_cell(row['difference'], row['difference_low'], row['difference_high'])} "
                   f"| {row['attention_only']} / {row['mean_only']} | {row['mcnemar_p']:.3g} | {row['verdict']} "
                   f"| {_cell(row['recovery'], row['recovery_low'], row['recovery_high'])} | {row['chance']:.2f} |")
    out += ["", "Every member:", "", f"| {axis} | seed | attention | mean pooling | McNemar p | recovery |",
            "|---:|---:|---:|---:|---:|---:|"]
    for c in sorted(comparisons, key=lambda c: (c.setting[axis], c.seed)):
        out.append(f"| {c.setting[axis]:g} | {c.seed} | {c.attention_accuracy:.3f} | {c.mean_accuracy:.3f} "
                   f"| {c.p_value:.3g} | {c.recovery:.3f} |")
    return "\n".join(out) + "\n", (where_it_holds(table), pooling_claims(table))


def no_dose_page(profile: str, dataset: str, run_dir: str) -> str:
    """`dose_response.md` without a sweep over a difficulty axis: what it would show, and how."""
    return "\n".join([
        f"# {TITLE}", "",
        "A sweep over a difficulty axis of the synthetic data (how hard the signature moment is to "
        "find) and several seeds would show here where attention pooling beats mean pooling. None "
        "was found under the runs folder. Make one (steps 01 and 03 of every member: about an "
        "hour on a 2-core CPU) and build the book again with:", "",
        "```bash", command(profile, dataset, run_dir), "```", "",
        f"(This book's run has dataset {md_code(dataset)}; the axes "
        f"{', '.join(md_code(a) for a in DIFFICULTY_AXES)} shape the synthetic data only. "
        f"Another axis instead of the moment's level, e.g. {md_code('--set decoys=0,1,2,3')}, works the "
        "same way.)",
        ""])
