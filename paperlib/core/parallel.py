"""Run a function over many items on all cores, in order, reporting progress (`core.progress`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def worker_count(requested: int = 0) -> int:
    """`requested` workers, or the cores this process may use when it is 0 (affinity and
    container CPU quotas respected, as joblib counts them: Binder reports the host's cores)."""
    if requested > 0:
        return requested
    from joblib import cpu_count

    return max(1, cpu_count())


def parallel_map(fn: Callable[..., T], items: Iterable[Any], *, workers: int = 0,
                 desc: str = "", total: int | None = None, progress: bool = True,
                 unit: str = "items") -> Iterator[T]:
    """Yield fn(item) for each item, in order, from a pool of processes (joblib's loky)."""
    from joblib import Parallel, delayed

    from paperlib.core.progress import Progress

    items = list(items)
    n = worker_count(workers)
    if n == 1 or len(items) <= 1:
        results: Iterable[T] = (fn(item) for item in items)
    else:
        results = Parallel(n_jobs=n, return_as="generator", batch_size="auto")(
            delayed(fn)(item) for item in items
        )
    with Progress(desc, total=total or len(items), unit=unit, enabled=progress,
                  mininterval=0.5) as bar:
        for done, result in enumerate(results, 1):
            bar.update(done)
            yield result
