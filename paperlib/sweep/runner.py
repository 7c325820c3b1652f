"""`paperlib sweep`: every member of a grid run as a task on Dask, its run folder brought back to
the sweep folder, `sweep.json` rewritten after each member with what the members say together.

Nothing lost, nothing repeated: members already done are skipped on a rerun; a member whose worker
dies is run again by Dask; a member that fails is recorded with its error and its executed notebook
while the others go on; an interruption keeps every member finished so far.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from paperlib.claims.across_seeds import summarize_group
from paperlib.core import paths
from paperlib.core.registry import artifact
from paperlib.core.run_folder import RunFolderError, open_existing_run
from paperlib.core.sweep_record import GroupSummary, MemberRecord, SweepFolder, SweepRecord
from paperlib.publish.notebook_runner import notebook_names
from paperlib.sweep.cluster import dashboard_link, dask_client
from paperlib.sweep.grid import Member, expand, parse_axes
from paperlib.sweep.member import MemberOutcome, run_member, unpack

RETRIES = 2  # a task that raises is tried again this often (a lost worker: distributed's allowed-failures)


@dataclass(frozen=True)
class SweepPlan:
    """A sweep to run: where, on which profile, its grid and its members."""

    folder: SweepFolder
    profile: str
    axes: dict[str, list[Any]]
    members: list[Member]
    notebooks: list[str] | None = None  # None: all of them

    @property
    def name(self) -> str:
        return self.folder.path.name


def default_sweep_name(profile: str) -> str:
    return f"sweep-{Path(profile).stem}"


def plan_sweep(profile: str, *, seeds: int | None, sets: list[str], name: str | None = None,
               notebooks: list[str] | None = None) -> SweepPlan:
    """Expand and check the grid (every member a valid run configuration) before any work;
    refuse a sweep folder made from another profile."""
    axes = parse_axes(sets)
    members = expand(profile, seeds=seeds, axes=axes)
    if notebooks:
        unknown = sorted(set(notebooks) - set(notebook_names()))
        if unknown:
            raise ValueError(f"Unknown notebook(s) {unknown}; the notebooks are {notebook_names()}.")
    folder = SweepFolder(paths.resolve(name) if name and ("/" in name or name.startswith("."))
                         else paths.runs_dir() / (name or default_sweep_name(profile)))
    if folder.exists():
        stored = folder.read()
        if stored.profile != profile:
            raise RunFolderError(f"Sweep folder {folder.path} holds a sweep of profile "
                                 f"{stored.profile!r}, not {profile!r}: give another --name.")
    return SweepPlan(folder, profile, axes, members, notebooks or None)


def member_finished(plan: SweepPlan, member: Member, stored: MemberRecord | None) -> bool:
    """Done before, with the same parameters, and every notebook asked for is in its folder."""
    if stored is None or stored.status != "done" or stored.overrides != member.overrides:
        return False
    folder = plan.folder.member_dir(member.name)
    return all((folder / artifact("executed_notebook").relative(notebook=n)).is_file()
               for n in plan.notebooks or notebook_names())


def group_label(values: dict[str, Any], axes: dict[str, list[Any]]) -> str:
    varying = [f"{k}={v}" for k, v in values.items() if k != "seed" and len(axes.get(k, [])) > 1]
    return ", ".join(varying) or "all members"


def summarize(plan: SweepPlan, records: dict[str, MemberRecord]) -> list[GroupSummary]:
    """One summary per group of done members (same grid values but the seed)."""
    groups: dict[str, tuple[dict, dict]] = {}
    for member in plan.members:
        if records[member.name].status != "done":
            continue
        values = member.group()
        results = open_existing_run(plan.folder.member_dir(member.name)).results()
        groups.setdefault(group_label(values, plan.axes), (values, {}))[1][member.name] = results
    return [summarize_group(label, values, results) for label, (values, results) in groups.items()]


def write_record(plan: SweepPlan, records: dict[str, MemberRecord]) -> SweepRecord:
    record = SweepRecord(
        name=plan.name, profile=plan.profile, axes={k: list(v) for k, v in plan.axes.items()},
        members=[records[m.name] for m in plan.members], groups=summarize(plan, records),
        updated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    plan.folder.write(record)
    return record


def collected(plan: SweepPlan, member: Member, outcome: MemberOutcome, worker: str | None) -> MemberRecord:
    """Put a member's returned run folder in place; its record (done, or failed with its error)."""
    folder = unpack(outcome.archive, plan.folder.member_dir(member.name))
    notebook = None
    if outcome.notebook:
        notebook = str(folder / artifact("executed_notebook").relative(notebook=outcome.notebook))
    return MemberRecord(name=member.name, overrides=member.overrides,
                        status="failed" if outcome.error else "done",
                        error=outcome.error.replace("<member>", str(folder)) if outcome.error else None,
                        notebook=notebook, seconds=round(outcome.seconds, 1),
                        worker=worker or outcome.worker)


def run_sweep(plan: SweepPlan, *, scheduler: str | None = None, workers: int | None = None,
              progress: bool = True) -> SweepRecord:
    """Run the members not yet done on Dask; return the record written to `sweep.json`."""
    stored = {m.name: m for m in plan.folder.read().members} if plan.folder.exists() else {}
    records = {m.name: stored[m.name] if member_finished(plan, m, stored.get(m.name))
               else MemberRecord(name=m.name, overrides=m.overrides, status="pending")
               for m in plan.members}
    todo = [m for m in plan.members if records[m.name].status != "done"]
    plan.folder.path.mkdir(parents=True, exist_ok=True)
    record = write_record(plan, records)
    if not todo:
        return record
    from distributed import as_completed

    with dask_client(scheduler, workers=workers) as client:
        link = dashboard_link(client)
        if link and progress:
            print(f"Dask dashboard: {link}", flush=True)
        futures = {client.submit(run_member, plan.profile, m.overrides, notebooks=plan.notebooks,
                                 key=f"member-{m.name}-{uuid.uuid4().hex[:8]}", pure=False,
                                 retries=RETRIES): m for m in todo}
        bar = tqdm(total=len(todo), unit="member", desc=f"sweep {plan.name}", disable=not progress)
        try:
            for future in as_completed(futures):
                member = futures[future]
                try:
                    outcome = future.result()
                    worker = next(iter(client.who_has([future]).get(future.key, ())), None)
                    records[member.name] = collected(plan, member, outcome, worker)
                except Exception as exc:  # the task itself was lost (its workers kept dying)
                    records[member.name] = MemberRecord(
                        name=member.name, overrides=member.overrides, status="failed",
                        error=f"{type(exc).__name__}: {exc}")
                record = write_record(plan, records)
                states = [r.status for r in records.values()]
                bar.update()
                bar.set_postfix(done=states.count("done"), failed=states.count("failed"),
                                running=sum(map(len, client.processing().values())))
        except KeyboardInterrupt:
            client.cancel(list(futures))
            write_record(plan, records)
            raise
        finally:
            bar.close()
    return record
