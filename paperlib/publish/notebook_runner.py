"""Execute the notebooks in order with papermill, stopping at the first failure with its cell."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from paperlib.core import paths
from paperlib.core.config import load_profile
from paperlib.core.progress import STATUS_ENV
from paperlib.core.registry import artifact
from paperlib.core.run_lock import child_environment, hold_run_folder
from paperlib.publish.live_status import StatusLine


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names it, the cell and where the executed copy is."""

    def __init__(self, message: str, notebook: str = "", executed: Path | None = None):
        super().__init__(message, notebook, executed)  # all in args: it pickles (a Dask task's error)
        self.notebook = notebook
        self.executed = executed  # the executed copy, with the traceback

    def __str__(self) -> str:
        return str(self.args[0])


class Stopped(RuntimeError):
    """A run of notebooks was asked to stop between two notebooks (a sweep's Ctrl-C)."""


def logged_kernel_manager(log: IO, env: dict[str, str] | None = None) -> type:
    """A kernel manager class whose kernels write their own output (C libraries' logs, transport
    warnings) to `log` instead of the terminal, and get `env` added to their environment."""
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            kw["env"] = {**kw.get("env", os.environ), **(env or {})}
            await super().start_kernel(**kw)

    return LoggedKernelManager


@contextlib.contextmanager
def kernel_log(path: Path) -> Iterator[IO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log:
        yield log


def notebook_names() -> list[str]:
    return sorted(p.stem for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def run_notebooks(profile: str = "default", overrides: dict[str, Any] | None = None, *,
                  only: list[str] | None = None, progress: bool = True, echo: bool = True,
                  stop: Callable[[], bool] | None = None) -> list[Path]:
    """Run every notebook (or those named in `only`) on a profile; return the executed copies.
    The run folder is held (`hold_run_folder`) throughout; the kernels write it as this
    process's guests. `progress` shows a bar per notebook and, under it, its long steps' progress;
    `echo` prints a line per notebook (off in a sweep's workers); `stop`, asked before each
    notebook, ends the run with `Stopped` when it says so."""
    overrides = dict(overrides or {})
    run_path = load_profile(profile, **overrides).run_path()  # refuses a bad parameter before any work
    names = notebook_names()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ValueError(f"Unknown notebook(s) {unknown}; the notebooks are {names}.")
        names = [n for n in names if n in only]
    done = []
    with hold_run_folder(run_path):
        for name in names:
            if stop is not None and stop():
                raise Stopped(f"Stopped before notebook {name}, as asked.")
            start = time.perf_counter()
            done.append(run_notebook(name, profile, overrides, run_path, progress=progress))
            if echo:
                print(f"{name} done in {time.perf_counter() - start:.0f} s", flush=True)
    return done


def run_notebook(name: str, profile: str, overrides: dict[str, Any], run_path: Path, *,
                 progress: bool) -> Path:
    """Execute one notebook into the run folder (held by the caller); its executed copy."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    source = paths.notebooks_dir() / f"{name}.ipynb"
    target = run_path / artifact("executed_notebook").relative(notebook=name)
    target.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_path / artifact("kernel_log").relative(notebook=name)
    status = run_path / artifact("progress_status").relative(notebook=name)
    status.unlink(missing_ok=True)  # an earlier run's
    env = {**child_environment(), STATUS_ENV: str(status)}
    try:
        with kernel_log(log_path) as log, StatusLine(status, enabled=progress):
            pm.execute_notebook(source, target, parameters={"profile": profile, "overrides": overrides},
                                cwd=str(paths.notebooks_dir()), kernel_name="python3",
                                progress_bar=progress and {"desc": name, "leave": False},
                                log_output=False, kernel_manager_class=logged_kernel_manager(log, env))
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"Notebook {name} failed in cell {exc.exec_count} ({exc.ename}: {exc.evalue}). "
            f"The executed copy with the full traceback is {target}; the kernel's log is "
            f"{log_path}.", name, target) from None
    except (DeadKernelError, CellTimeoutError) as exc:
        why = ("its kernel died (often: out of memory)" if isinstance(exc, DeadKernelError)
               else "a cell timed out")
        raise NotebookFailed(f"Notebook {name} stopped: {why}. The executed copy so far is "
                             f"{target}; the kernel's log is {log_path}.", name, target) from None
    except (pm.PapermillException, RuntimeError, OSError) as exc:  # e.g. the kernel never started
        raise NotebookFailed(f"Notebook {name} could not run ({type(exc).__name__}: {exc}); the "
                             f"kernel's log is {log_path}.", name, target) from None
    return target
