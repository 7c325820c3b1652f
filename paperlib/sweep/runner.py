"""`paperlib sweep`: every member of a grid run as a task on Dask, its run folder brought back to
the sweep folder, `sweep.json` rewritten after each member with what the members say together.

Nothing lost, nothing repeated: members already done are skipped on a rerun; a member whose worker
dies is run again by Dask; a member that fails is recorded with its error and its executed notebook
while the others go on; an interruption keeps every member finished so far.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from paperlib.claims.across_seeds import summarize_group
from paperlib.core import paths
from paperlib.core.registry import artifact
from paperlib.core.results import StepResult
from paperlib.core.run_folder import RunFolderError, open_existing_run
from paperlib.core.sweep_record import (
    GroupSummary,
    MemberRecord,
    SweepFolder,
    SweepRecord,
)
from paperlib.publish.notebook_runner import notebook_names
from paperlib.sweep.cluster import Connection, dashboard_link, dask_client
from paperlib.sweep.grid import Member, expand, parse_axes
from paperlib.sweep.member import MEMBER_FOLDER, MemberOutcome, pack, run_member, unpack

RETRIES = 2  # a task that raises is tried again this often (a lost worker: distributed's allowed-failures)
REFRESH_S = 5  # the progress bar's refresh while members run


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
    given = parse_axes(sets)
    members = expand(profile, seeds=seeds, axes=given)
    axes = {"seed": list(dict.fromkeys(m.overrides["seed"] for m in members)),
            **{k: v for k, v in given.items() if k != "seed"}}
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
    if stored is None or stored.status != "done" or stored.config_key != member.config_key:
        return False
    folder = plan.folder.member_dir(member.name)
    return all((folder / artifact("executed_notebook").relative(notebook=n)).is_file()
               for n in plan.notebooks or notebook_names())


def group_label(values: dict[str, Any], axes: dict[str, list[Any]]) -> str:
    varying = [f"{k}={v}" for k, v in values.items() if k != "seed" and len(axes.get(k, [])) > 1]
    return ", ".join(varying) or "all members"


class Sweep:
    """The state of one sweep while it runs: each member's record, and the results of the done
    ones (read once), written to `sweep.json` after every change."""

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        stored = {m.name: m for m in plan.folder.read().members} if plan.folder.exists() else {}
        self.records = {m.name: stored[m.name] if member_finished(plan, m, stored.get(m.name))
                        else self.record(m, "pending") for m in plan.members}
        self._results: dict[str, dict[str, StepResult]] = {}

    @staticmethod
    def record(member: Member, status: str, **fields: Any) -> MemberRecord:
        return MemberRecord(name=member.name, overrides=member.overrides,
                            config_key=member.config_key, status=status, **fields)

    def todo(self) -> list[Member]:
        return [m for m in self.plan.members if self.records[m.name].status != "done"]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records.values())

    def results(self, member: Member) -> dict[str, StepResult] | None:
        """A done member's typed results; None (and the member marked failed) when unreadable."""
        if member.name not in self._results:
            try:
                self._results[member.name] = open_existing_run(
                    self.plan.folder.member_dir(member.name)).results()
            except (RunFolderError, ValueError, OSError) as exc:
                self.records[member.name] = self.record(
                    member, "failed", error=f"its run folder cannot be read back ({exc})")
                return None
        return self._results[member.name]

    def summarize(self) -> list[GroupSummary]:
        """One summary per group of done members (same grid values but the seed)."""
        groups: dict[str, tuple[dict, dict]] = {}
        for member in self.plan.members:
            if self.records[member.name].status != "done":
                continue
            results = self.results(member)
            if results is not None:
                values = member.group()
                groups.setdefault(group_label(values, self.plan.axes), (values, {}))[1][member.name] = results
        return [summarize_group(label, values, found) for label, (values, found) in groups.items()]

    def write(self) -> SweepRecord:
        groups = self.summarize()
        plan = self.plan
        record = SweepRecord(
            name=plan.name, profile=plan.profile, axes={k: list(v) for k, v in plan.axes.items()},
            members=[self.records[m.name] for m in plan.members], groups=groups,
            updated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        plan.folder.write(record)
        return record

    def collect(self, member: Member, future: Any, client: Any) -> None:
        """A finished task's member: its run folder put in place, its record (done, or failed
        with its error). A task lost with its workers, or a folder that cannot be placed here,
        makes a failed record that says so."""
        self._results.pop(member.name, None)
        try:
            outcome: MemberOutcome = future.result()
        except Exception as exc:  # noqa: BLE001 - the task itself was lost (its workers kept dying)
            self.records[member.name] = self.record(member, "failed", error=f"{type(exc).__name__}: {exc}")
            return
        worker = next(iter(client.who_has([future]).get(future.key, ())), None) or outcome.worker
        try:
            folder = unpack(outcome.archive, self.plan.folder.member_dir(member.name))
        except (OSError, ValueError) as exc:
            self.records[member.name] = self.record(
                member, "failed", error=f"its run folder could not be written here ({exc})", worker=worker)
            return
        notebook = None
        if outcome.notebook:
            notebook = str(folder / artifact("executed_notebook").relative(notebook=outcome.notebook))
        error = outcome.error.replace(MEMBER_FOLDER, str(folder)) if outcome.error else None
        self.records[member.name] = self.record(
            member, "failed" if error else "done", error=error, notebook=notebook,
            seconds=round(outcome.seconds, 1), worker=worker)


def _submit(connection: Connection, plan: SweepPlan, members: list[Member], stop_event: str,
            trained_before: set[str]) -> dict:
    """Every member as a task; a member named in `trained_before` (its models trained by
    `train_members_together` in this sweep) takes its folder with it; any other starts empty."""
    def start(member: Member) -> bytes | None:
        folder = plan.folder.member_dir(member.name)
        return pack(folder) if member.name in trained_before and folder.is_dir() else None

    return {connection.client.submit(
        run_member, plan.profile, m.overrides, config_key=m.config_key, runtime=connection.runtime,
        notebooks=plan.notebooks, stop_event=stop_event, start=start(m),
        key=f"member-{m.name}-{uuid.uuid4().hex[:8]}", pure=False, retries=RETRIES): m
        for m in members}


def train_members_together(plan: SweepPlan, members: list[Member], *, progress: bool = True) -> int:
    """Before the members' tasks: each group of members that differ only in their seed has its
    data prepared and every model trained in one program (`train_runs_together`; with the `vector`
    trainer the models of all its seeds fill one device), into the members' folders, whose tasks
    then find their models complete: a member's numbers equal its lone run's (on a GPU's `vmap`
    mapping to float rounding: another slot count). Returns the number of models trained."""
    from paperlib.core.config import load_profile
    from paperlib.data.prepare import prepare_data
    from paperlib.model.cross_validation import train_runs_together

    groups: dict[str, list[Member]] = {}
    for member in members:
        groups.setdefault(repr(sorted(member.group().items())), []).append(member)
    trained = 0
    for group in groups.values():
        prepared = [prepare_data(load_profile(plan.profile, **m.overrides,
                                              run_dir=str(plan.folder.member_dir(m.name))),
                                 progress=progress)[0] for m in group]
        trained += train_runs_together(prepared, plan.folder.path / "together-checkpoint.npz",
                                       progress=progress)
    return trained


def run_sweep(plan: SweepPlan, *, scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, together: bool = False) -> SweepRecord:
    """Run the members not yet done on Dask; return the record written to `sweep.json`.
    `together` trains the members' models first, in one program per group of seeds
    (`train_members_together`). Ctrl-C asks running members to stop after their current
    notebook, keeps every member that finished, and raises KeyboardInterrupt."""
    sweep = Sweep(plan)
    todo = sweep.todo()
    plan.folder.path.mkdir(parents=True, exist_ok=True)
    record = sweep.write()
    if not todo:
        return record
    trained_before: set[str] = set()
    if together:
        train_members_together(plan, todo, progress=progress)
        trained_before = {m.name for m in todo}
    from distributed import Event, wait

    with dask_client(scheduler, workers=workers) as connection:
        client = connection.client
        link = dashboard_link(client)
        if link and progress:
            print(f"Dask dashboard: {link}", flush=True)
        stop_event = f"stop-sweep-{uuid.uuid4().hex[:8]}"
        pending = _submit(connection, plan, todo, stop_event, trained_before)
        bar = tqdm(total=len(todo), unit="member", desc=f"sweep {plan.name}", disable=not progress)

        def finish(future: Any) -> None:
            sweep.collect(pending.pop(future), future, client)
            future.release()
            bar.update()

        try:
            while pending:
                try:
                    done, _ = wait(list(pending), timeout=REFRESH_S, return_when="FIRST_COMPLETED")
                except TimeoutError:  # none finished within REFRESH_S: refresh the bar
                    done = set()
                for future in done:
                    finish(future)
                if done:
                    record = sweep.write()
                ours = {f.key for f in pending}  # a worker holds queued tasks too: one runs per thread
                running = sum(min(len(ours & set(keys)), client.nthreads().get(worker, 1))
                              for worker, keys in client.processing().items())
                bar.set_postfix(done=sweep.count("done"), running=running, failed=sweep.count("failed"))
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                Event(stop_event, client=client).set()
            for future in [f for f in pending if f.status == "finished"]:
                finish(future)
            client.cancel(list(pending))
            sweep.write()
            raise
        finally:
            bar.close()
    return record
