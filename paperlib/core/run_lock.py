"""One writer per run folder: an OS file lock (`filelock`) held while a command or a notebook
writes the folder, with who holds it in a side file.

A second writer is refused at once with a message naming the holder (command line, PID, since when)
and what to do; readers (the book, `paperlib similar`) take no lock. The OS releases the lock of a
process that dies, so a killed holder's lock is simply taken (its stale side file is overwritten).
The processes a holder starts to write for it (`paperlib reproduce`'s notebook kernels) are let in
by a token in their environment (`child_environment`); the kernels of one Jupyter server share a
token too, so notebooks run one after another in JupyterLab; any other writer is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from paperlib.core.files import write_json
from paperlib.core.registry import artifact
from paperlib.core.run_folder import RunFolderError

LOCK_ENV = "PAPERLIB_RUN_LOCK"  # the holder's token, given to the processes it starts
_OWNERS: dict[int, str] = {}  # pid -> this process's owner, fixed at its first use (a fork's own)
_HELD: dict[Path, object] = {}  # folder -> its FileLock, held by this process


class RunFolderBusy(RunFolderError):
    """Another process writes this run folder; the message names it and says what to do."""


def lock_paths(folder: Path) -> tuple[Path, Path]:
    """(the lock file, the holder's side file) of a run folder."""
    return folder / artifact("run_lock").relative(), folder / artifact("run_lock_holder").relative()


def owner() -> str:
    """Who this process writes for, fixed at its first use: the token it was given (a kernel of
    `paperlib reproduce`), the Jupyter server that started it (a notebook kernel in JupyterLab), or
    itself."""
    if os.getpid() not in _OWNERS:
        host = socket.gethostname()
        _OWNERS[os.getpid()] = (os.environ.get(LOCK_ENV)
                                or (in_kernel() and f"{host}:jupyter-server:{os.getppid()}")
                                or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    return _OWNERS[os.getpid()]


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (not merely a process that imported ipykernel)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def child_environment() -> dict[str, str]:
    """The variables that let the processes this holder starts (notebook kernels) write its folder."""
    return {LOCK_ENV: owner()}


@contextlib.contextmanager
def hold_run_folder(folder: str | Path) -> Iterator[None]:
    """Hold `folder`'s lock for the block (creating the folder), or raise RunFolderBusy at once,
    changing nothing in it. Held already by this process: the block simply runs."""
    folder = Path(folder).resolve()
    if folder in _HELD:
        yield
        return
    lock = _acquire(folder)
    try:
        yield
    finally:
        _release(folder, lock)


def join_run_folder(folder: str | Path) -> None:
    """For a notebook: hold `folder` for the rest of this process (the kernel's life), or write
    beside the holder when it is our owner (the command that started this kernel, or the Jupyter
    server of an earlier notebook, whose lock this process then takes over when it is released);
    otherwise RunFolderBusy."""
    folder = Path(folder).resolve()
    if folder in _HELD:
        return
    try:
        _acquire(folder)
    except RunFolderBusy:
        if read_holder(folder).get("owner") != owner():
            raise
        threading.Thread(target=_take_over_when_free, args=(folder,), daemon=True,
                         name="paperlib-run-lock").start()


def read_holder(folder: Path) -> dict:
    """What the holder's side file says (empty when it is missing or unreadable)."""
    try:
        found = json.loads(lock_paths(folder)[1].read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def busy_message(folder: Path, holder: dict) -> str:
    """Who writes `folder` and what to do, in a few lines."""
    if holder:
        since = holder.get("since", "?")
        with contextlib.suppress(ValueError, TypeError):
            minutes = (datetime.now().astimezone() - datetime.fromisoformat(since)).total_seconds() / 60
            since += f", {minutes:.0f} min ago"
        who = (f"`{holder.get('command', '?')}` (PID {holder.get('pid', '?')} on "
               f"{holder.get('host', '?')}, since {since})")
    else:
        who = "another process (it has not yet said which)"
    return (f"Run folder {folder} is being written by {who}. One writer at a time: wait for it to "
            f"finish, stop it (Ctrl-C in its terminal, or kill {holder.get('pid', 'its PID')}; a "
            "notebook's kernel in JupyterLab: Kernel > Shut Down Kernel), or write another run "
            "folder (--set run_dir=...). Nothing in the folder was changed.")


def _acquire(folder: Path):
    from filelock import FileLock, Timeout

    lock_file, _ = lock_paths(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderBusy(busy_message(folder, read_holder(folder))) from None
    _HELD[folder] = lock
    _write_holder(folder)
    return lock


def _release(folder: Path, lock) -> None:
    _HELD.pop(folder, None)
    with contextlib.suppress(OSError):
        lock_paths(folder)[1].unlink()
    lock.release()


def _write_holder(folder: Path) -> None:
    command = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    if in_kernel():
        command = f"a notebook kernel ({command})"
    write_json(lock_paths(folder)[1], {
        "pid": os.getpid(), "host": socket.gethostname(), "command": command,
        "since": datetime.now().astimezone().isoformat(timespec="seconds"), "owner": owner()})


def _take_over_when_free(folder: Path) -> None:
    """Wait for the holder to let go, then hold the folder for this process (a daemon thread)."""
    from filelock import FileLock

    lock = FileLock(lock_paths(folder)[0], timeout=-1, thread_local=False, poll_interval=1.0)
    lock.acquire()
    _HELD[folder] = lock
    _write_holder(folder)
