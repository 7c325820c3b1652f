"""The book's "Across seeds" page: how often each claim held across a sweep's members, with 95%
intervals and a sweep verdict, and the key numbers as mean, spread and interval (one column per
split or source when the grid has several); or, without a sweep, the command that makes one."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path
from typing import Any, get_args

from paperlib.claims.across_seeds import FAILS_UP_TO, HOLDS_FROM
from paperlib.core import paths
from paperlib.core.config import LOCATION_KEYS, RUNTIME_KEYS
from paperlib.core.registry import artifact, sweep_artifact
from paperlib.core.run_folder import RunFolderError
from paperlib.core.sweep_record import (
    ClaimTally,
    GroupSummary,
    Spread,
    SweepFolder,
    SweepRecord,
    SweepVerdict,
)
from paperlib.publish.markdown import md_code, md_escape
from paperlib.publish.run_reader import assignment
from paperlib.publish.split_comparison import (
    compared_params,
    json_or_empty,
    source_fingerprint,
)

PAGE = "across_seeds"  # the book page (across_seeds.md)
TITLE = "Across seeds"
SWEEP_VERDICTS: tuple[str, ...] = get_args(SweepVerdict)


SEED_SIBLING_IGNORED = RUNTIME_KEYS | LOCATION_KEYS | {"seed"}


def same_but_seed(manifest: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two runs differ at most in their seed: the same result parameters but the seed and,
    on GTZAN, the same data (synthetic data is made from the seed, so it differs with it)."""
    if compared_params(manifest, SEED_SIBLING_IGNORED) != compared_params(other, SEED_SIBLING_IGNORED):
        return False
    gtzan = compared_params(manifest).get("dataset") == "gtzan"
    return not gtzan or (bool(source_fingerprint(manifest))
                         and source_fingerprint(manifest) == source_fingerprint(other))


def _manifest(run_dir: Path) -> dict[str, Any]:
    """A run folder's manifest, or {} when it has none that reads."""
    return json_or_empty(run_dir / artifact("manifest").relative())


def matching_sweep(run_dir: Path) -> SweepFolder | None:
    """The sweep whose members differ from this run at most in their seed: the one holding the run
    as a member, else the most recently updated such sweep under the runs folder."""
    run_dir = Path(run_dir).resolve()
    own = SweepFolder(run_dir.parent.parent)
    if own.exists() and is_member(run_dir, own):
        return own
    wanted = _manifest(run_dir)
    if not wanted:
        return None
    found = []
    for record_path in sorted(paths.runs_dir().glob(f"*/{sweep_artifact('sweep_record').relative()}")):
        folder = SweepFolder(record_path.parent)
        try:
            record = folder.read()
        except RunFolderError:
            continue
        for member in (m for m in record.members if m.status == "done"):
            other = _manifest(folder.member_dir(member.name))
            if other and same_but_seed(wanted, other):
                found.append((record.updated, str(folder.path)))
                break
    return SweepFolder(Path(max(found)[1])) if found else None


def is_member(run_dir: Path, sweep: SweepFolder) -> bool:
    """Whether the run folder is one of the sweep's members."""
    return sweep.member_dir(Path(run_dir).name).resolve() == Path(run_dir).resolve()


def _interval(low: float | None, high: float | None, digits: int = 2) -> str:
    return "–" if low is None or high is None else f"[{low:.{digits}f}, {high:.{digits}f}]"


def number_cell(spread: Spread | None) -> str:
    if spread is None or spread.mean is None:
        return "–"
    if spread.sd is None:
        return f"{spread.mean:.3f} (1 member)"
    return (f"{spread.mean:.3f} ± {spread.sd:.3f}, 95% {_interval(spread.low, spread.high, 3)} "
            f"({len(spread.values)} members)")


def claim_cell(tally: ClaimTally | None) -> str:
    if tally is None:
        return "–"
    if not tally.testable:
        return f"not testable in {tally.members} · **{tally.verdict}**"
    return (f"{tally.holds}/{tally.testable} · {_interval(tally.low, tally.high)} · "
            f"**{tally.verdict}**")


def verdict_counts(group: GroupSummary) -> str:
    counts = Counter({v: 0 for v in SWEEP_VERDICTS})
    counts.update(t.verdict for t in group.claims)
    return (f"{len(group.claims)} claims: {counts['holds']} hold, {counts['does not hold']} do not "
            f"hold, **{counts['unstable']} unstable**, {counts['not testable here']} not testable")


def across_seeds_page(record: SweepRecord, folder: Path, *, shown_member: str | None = None) -> str:
    """`across_seeds.md` from a sweep's record."""
    groups = record.groups
    done = [m for m in record.members if m.status == "done"]
    failed = [m for m in record.members if m.status == "failed"]
    seeds = list(dict.fromkeys(m.overrides.get("seed") for m in record.members))
    out = [f"# {TITLE}", "",
           "One training with one seed decides every verdict of a single run; on a few hundred clips "
           "a verdict can flip from one seed to the next. A sweep runs the same notebooks with "
           "several seeds (and, when asked, several splits or sources) and counts how often each "
           "claim holds.", "",
           f"This page is generated from the sweep {md_code(record.name)} "
           f"({md_code(folder)}), profile {md_code(record.profile)}: "
           f"{len(record.members)} members (seeds {', '.join(map(str, seeds))}), {len(done)} done"
           + (f", {len(failed)} failed" if failed else "")
           + (f", {len(record.members) - len(done) - len(failed)} not run yet"
              if len(done) + len(failed) < len(record.members) else "") + ". "
           + (f"The notebooks of this book are those of member {md_code(shown_member)}."
              if shown_member else ""), "",
           f"A claim **holds** across seeds when it held in at least {HOLDS_FROM:.0%} of the members "
           f"where it was testable, **does not hold** when it held in at most {FAILS_UP_TO:.0%}, and "
           "is **unstable** in between. The interval is the 95% Wilson interval of that share "
           "(scipy); with few members it is wide, and a verdict from 2 or 3 seeds is a first look.", ""]
    if not groups:
        out += ["No member has finished yet: run the sweep again to continue it.", ""]
    labels = [md_escape(g.label) for g in groups]
    if groups:
        out += ["## In short", ""]
        out += [f"* **{label}** ({len(g.members)} members): {verdict_counts(g)}."
                for label, g in zip(labels, groups)]
        names = [s.name for s in groups[0].numbers]
        names += [s.name for g in groups[1:] for s in g.numbers if s.name not in names]
        by_group = [{s.name: s for s in g.numbers} for g in groups]
        out += ["", "## The numbers", "",
                "Mean ± standard deviation across members, the 95% t interval of the mean.", "",
                "| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(groups)]
        for name in names:
            label = next(b[name].label for b in by_group if name in b)
            out.append(f"| {md_escape(label)} | "
                       + " | ".join(number_cell(b.get(name)) for b in by_group) + " |")
        keys = [(t.step, t.section, t.claim) for t in groups[0].claims]
        keys += [k for g in groups[1:] for k in ((t.step, t.section, t.claim) for t in g.claims)
                 if k not in keys]
        tallies = [{(t.step, t.section, t.claim): t for t in g.claims} for g in groups]
        out += ["", "## The claims", "",
                "Each cell: held in / testable in, the 95% interval of that share, the verdict "
                "across seeds. [Paper vs this run](claims.md) has the verdicts of the one run the "
                "notebooks show.", "",
                "| notebook | section | claim | paper | " + " | ".join(labels) + " |",
                "|---|---|---|---|" + "---|" * len(groups)]
        for key in keys:
            first = next(t[key] for t in tallies if key in t)
            cells = [first.step, first.section, first.claim, first.paper]
            out.append("| " + " | ".join(md_escape(c) for c in cells) + " | "
                       + " | ".join(claim_cell(t.get(key)) for t in tallies) + " |")
    if failed:
        out += ["", "## Failed members", ""]
        out += [f"* {md_code(m.name)}: {md_escape(m.error or '?')}"
                + (f" (executed notebook: {md_code(m.notebook)})" if m.notebook else "")
                for m in failed]
    return "\n".join(out) + "\n"


def sweep_command(parameters: dict[str, Any], seeds: int = 5) -> str:
    """The command that makes a sweep of a run's parameters (its profile and overrides, the seed
    and run folder aside), so that the sweep matches the run."""
    overrides = {k: v for k, v in (parameters.get("overrides") or {}).items()
                 if k not in ("seed", "run_dir", "workers")}
    sets = "".join(f" --set {shlex.quote(assignment(k, v))}" for k, v in sorted(overrides.items()))
    return (f".venv/bin/paperlib sweep --profile {shlex.quote(str(parameters['profile']))} "
            f"--seeds {seeds}{sets}")


def no_sweep_page(parameters: dict[str, Any]) -> str:
    """`across_seeds.md` when no sweep matches the run: what a sweep is and the command that makes
    one with the run's parameters (`parameters`: the run's papermill parameters)."""
    return "\n".join([
        f"# {TITLE}", "",
        "Every verdict of this book rests on one training with one seed. A sweep runs the same "
        "notebooks with several seeds on Dask (on this machine, or on a cluster) and counts how "
        "often each claim holds, with 95% intervals, so that a verdict that flips with the seed is "
        "marked *unstable*.", "",
        "No sweep with this run's parameters exists yet. Make one (five seeds) and its book with:", "",
        "```bash", sweep_command(parameters), "```", "",
        "This page is then generated from its `sweep.json` when this run's book is built again "
        "(see [How to reproduce](reproduce.md)).",
    ]) + "\n"
