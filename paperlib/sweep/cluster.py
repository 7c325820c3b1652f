"""The Dask cluster a sweep runs on: a LocalCluster sized to this machine, or a running scheduler
(`dask scheduler` / `dask worker`, dask-jobqueue, Kubernetes) given by its address."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psutil

# a member's notebooks peak near 1.7 GB on the default profile (notebook 03's training program)
MEMORY_PER_MEMBER = 2.5 * 2**30


def local_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def local_workers(requested: int | None = None) -> int:
    """How many members run at once on this machine: `requested`, or one per core as far as the
    available memory holds MEMORY_PER_MEMBER for each."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--workers must be at least 1, got {requested}.")
        return requested
    by_memory = int(psutil.virtual_memory().available // MEMORY_PER_MEMBER)
    return max(1, min(local_cores(), by_memory))


@dataclass(frozen=True)
class Connection:
    """A connected client, and the runtime parameters each member gets on its cluster (on this
    machine: its share of the cores for parallel feature extraction)."""

    client: Any
    runtime: dict[str, Any]


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None,
                timeout_s: float = 30) -> Iterator[Connection]:
    """A connection to `scheduler` (e.g. tcp://host:8786) when given, else to a LocalCluster on
    127.0.0.1 (one single-threaded worker process per member run at once). Closed (and the local
    cluster stopped) on leaving."""
    from distributed import Client, LocalCluster

    if scheduler:
        if workers is not None:
            raise ValueError("--workers sizes a local cluster; with --scheduler the cluster's own "
                             "workers run the members.")
        try:
            client = Client(scheduler, timeout=timeout_s)
        except OSError as exc:
            raise RuntimeError(f"No Dask scheduler answered at {scheduler} within {timeout_s:.0f} s "
                               f"({exc}). Start one with `dask scheduler` and workers with "
                               f"`dask worker {scheduler}`, or leave out --scheduler to run "
                               "here.") from None
        with client:
            yield Connection(client, {})
        return
    dashboard = "127.0.0.1:0" if importlib.util.find_spec("bokeh") else None
    n = local_workers(workers)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=dashboard, memory_limit=0,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield Connection(client, {"workers": max(1, local_cores() // n)})


def dashboard_link(client) -> str | None:
    """The cluster's dashboard, when it has one (bokeh installed where the scheduler runs)."""
    with contextlib.suppress(Exception):
        info = client.scheduler_info()
        if info.get("services", {}).get("dashboard"):
            return client.dashboard_link
    return None
