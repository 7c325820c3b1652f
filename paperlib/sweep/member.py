"""One member of a sweep as a task: its notebooks run by papermill (as `paperlib reproduce` runs
them, without the book) in a folder of the worker's own, and the run folder returned packed, so
workers need no filesystem shared with the client."""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperlib.core.config import load_profile
from paperlib.core.session import configure_environment, separate_numba_cache
from paperlib.publish.notebook_runner import NotebookFailed, run_notebooks

MEMBER_FOLDER = "<member>"  # the run folder in an outcome's error text, until the client places it


@dataclass(frozen=True)
class MemberOutcome:
    """What a member's task gives back: its run folder (a tar archive), or its error as well."""

    archive: bytes
    seconds: float
    worker: str
    error: str | None = None
    notebook: str | None = None  # the failed notebook's name


def pack(folder: Path) -> bytes:
    """A folder's content as a gzip'd tar archive in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(Path(folder).rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack(archive: bytes, dest: Path) -> Path:
    """Extract `archive` into `dest`, which appears complete or not at all (a sibling folder is
    filled first, then renamed); an existing `dest` is replaced."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def stop_requested(event_name: str | None) -> Callable[[], bool] | None:
    """Whether the client asked this sweep to stop (a Dask Event set on Ctrl-C), asked between
    notebooks; None outside a Dask task."""
    if not event_name:
        return None
    from distributed import Event

    def asked() -> bool:
        try:
            return Event(event_name).is_set()
        except (ValueError, OSError):  # no client here (outside a task) or the client is gone
            return False
    return asked


def _worker_name() -> str:
    """This Dask worker's name (the process id outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except ValueError:
        return str(os.getpid())


def run_member(profile: str, overrides: dict[str, Any], *, config_key: str,
               runtime: dict[str, Any] | None = None, notebooks: list[str] | None = None,
               stop_event: str | None = None, start: bytes | None = None) -> MemberOutcome:
    """Run one member's notebooks in a temporary folder of this worker; return the folder packed.

    `config_key` is the member's configuration as the client computed it: a worker whose profile
    or code gives another refuses to run. Whatever fails (a notebook, the worker's setup) comes
    back in the outcome with the partial folder (a failed notebook's executed copy holds the
    traceback); only the loss of the worker itself makes Dask run the task again. `runtime` adds
    parameters that change no result (`workers`); `start`, a packed run folder to continue (its
    models trained beforehand, with the other members')."""
    configure_environment()
    separate_numba_cache(f"sweep-worker-{_worker_name()}")
    began = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix="genre-signatures-member-"))
    run_dir = staging / "run"
    error = notebook = None
    unpacked = start is None
    try:
        try:
            if start is not None:
                unpack(start, run_dir)
                unpacked = True
            here = load_profile(profile, **overrides).key()
            if here != config_key:
                raise ValueError(
                    f"this worker's profile {profile!r} gives configuration {here}, the client's "
                    f"{config_key}: install the same commit of the project on every worker.")
            run_notebooks(profile, {**overrides, **(runtime or {}), "run_dir": str(run_dir)},
                          only=notebooks, progress=False, echo=False, stop=stop_requested(stop_event))
        except NotebookFailed as exc:
            error, notebook = str(exc).replace(str(run_dir), MEMBER_FOLDER), exc.notebook
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none retried
            error = f"{type(exc).__name__}: {exc}".replace(str(run_dir), MEMBER_FOLDER)
        run_dir.mkdir(exist_ok=True)
        # a start that could not be unpacked goes back as it came: the member's folder stays as it was
        return MemberOutcome(archive=pack(run_dir) if unpacked else start,
                             seconds=time.perf_counter() - began, worker=socket.gethostname(),
                             error=error, notebook=notebook)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
