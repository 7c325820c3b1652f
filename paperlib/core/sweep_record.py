"""A sweep folder and its typed record (`sweep.json`): the grid, each member's state, and what the
members say together (claims tallied across seeds, key numbers as mean and spread).

A sweep folder holds one run folder per member (`members/<name>/`, written only when the member has
finished, whatever worker ran it) and `sweep.json`, rewritten after every member so an interrupted
sweep keeps what it finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from paperlib.core.files import write_json
from paperlib.core.registry import sweep_artifact
from paperlib.core.results import Record
from paperlib.core.run_folder import RunFolderError, read_json_file

SWEEP_SCHEMA_VERSION = 1
MemberStatus = Literal["done", "failed", "pending"]
SweepVerdict = Literal["holds", "does not hold", "unstable", "not testable here"]


class ClaimTally(Record):
    """One claim across a group's members: in how many it held, of those where it was testable."""

    step: str
    section: str
    claim: str
    paper: str
    holds: int
    testable: int
    members: int
    share: float | None  # holds / testable (None: never testable)
    low: float | None  # 95% Wilson interval of the share
    high: float | None
    verdict: SweepVerdict


class Spread(Record):
    """A number across a group's members: mean, standard deviation and 95% interval of the mean."""

    name: str
    label: str
    values: list[float]
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None


class GroupSummary(Record):
    """The members sharing every grid value but the seed (one group per split or source)."""

    label: str
    values: dict[str, Any]
    members: list[str]
    claims: list[ClaimTally]
    numbers: list[Spread]


class MemberRecord(Record):
    """One member of the grid: its parameters and how it went."""

    name: str
    overrides: dict[str, Any]
    config_key: str  # its result parameters' key: a member done with other parameters runs again
    status: MemberStatus
    error: str | None = None
    notebook: str | None = None  # the executed notebook holding a failed member's traceback
    seconds: float | None = None
    worker: str | None = None


class SweepRecord(Record):
    """Everything `sweep.json` holds."""

    schema_version: int = SWEEP_SCHEMA_VERSION
    name: str
    profile: str
    axes: dict[str, list[Any]]
    members: list[MemberRecord]
    groups: list[GroupSummary] = []
    updated: str


class SweepFolder:
    """A sweep's folder: `sweep.json` and the members' run folders."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def path_of(self, name: str, **fields: object) -> Path:
        return self.path / sweep_artifact(name).relative(**fields)

    def member_dir(self, member: str) -> Path:
        return self.path_of("member_dir", member=member)

    def exists(self) -> bool:
        return self.path_of("sweep_record").is_file()

    def read(self) -> SweepRecord:
        """The stored record, or RunFolderError saying what is wrong and what to do."""
        where = self.path_of("sweep_record")
        if not where.is_file():
            raise RunFolderError(f"{self.path} has no {where.name}, so it is not a sweep folder: give "
                                 "the folder `paperlib sweep` made (runs/<sweep-name>).")
        stored = read_json_file(where)
        found = stored.get("schema_version") if isinstance(stored, dict) else None
        if found != SWEEP_SCHEMA_VERSION:
            raise RunFolderError(f"{where} has sweep schema {found}; this version reads schema "
                                 f"{SWEEP_SCHEMA_VERSION}. Run the sweep again into a new folder.")
        try:
            return SweepRecord.model_validate(stored)
        except ValueError as exc:
            raise RunFolderError(f"{where} does not hold a valid sweep record ({exc}).") from None

    def write(self, record: SweepRecord) -> Path:
        where = self.path_of("sweep_record")
        write_json(where, record.model_dump(mode="json"))
        return where
