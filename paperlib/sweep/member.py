"""One member of a sweep as a task: its notebooks run by papermill (as `paperlib reproduce` runs
them, without the book) in a folder of the worker's own, and the run folder returned packed, so
workers need no filesystem shared with the client."""

from __future__ import annotations

import io
import shutil
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperlib.core.session import configure_environment
from paperlib.publish.notebook_runner import NotebookFailed, run_notebooks


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


def run_member(profile: str, overrides: dict[str, Any], *,
               notebooks: list[str] | None = None) -> MemberOutcome:
    """Run one member's notebooks in a temporary folder of this worker; return the folder packed.
    A notebook that fails is reported in the outcome with the partial folder (its executed copy
    holds the traceback); only the loss of the worker itself makes Dask run the task again."""
    configure_environment()
    start = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix="genre-signatures-member-"))
    run_dir = staging / "run"
    error = notebook = None
    try:
        try:
            run_notebooks(profile, {**overrides, "run_dir": str(run_dir)}, only=notebooks,
                          progress=False, echo=False)
        except NotebookFailed as exc:
            error, notebook = str(exc).replace(str(run_dir), "<member>"), exc.notebook
        except (ValueError, RuntimeError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        run_dir.mkdir(exist_ok=True)
        return MemberOutcome(archive=pack(run_dir), seconds=time.perf_counter() - start,
                             worker=socket.gethostname(), error=error, notebook=notebook)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
