"""Progress of a long step (training, token extraction, explanations), shown where the person is.

In its own process a step shows a tqdm bar, as before. When the environment names a status file
(`STATUS_ENV`: `paperlib reproduce` sets it for each notebook's kernel, whose own output goes into
the notebook), the step also writes its progress there as a small JSON object, atomically and at
most once a second, and the runner shows its `line` on the terminal (`paperlib.publish.live_status`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from paperlib.core.files import write_json

STATUS_ENV = "PAPERLIB_PROGRESS_FILE"
WRITE_EVERY = 1.0  # seconds between two writes of the status file


def duration(seconds: float) -> str:
    """A rough duration: '40 s', '12 min', '1 h 05 min'."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """A long step's progress: `update(done, total, text)` as it goes; a context manager."""

    def __init__(self, desc: str, total: int, *, unit: str = "it", initial: int = 0,
                 enabled: bool = True, mininterval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        from tqdm.auto import tqdm

        self.desc, self.unit, self.done, self.total, self.text = desc, unit, initial, total, ""
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not enabled,
                        mininterval=mininterval)
        found = os.environ.get(STATUS_ENV)
        self.status_file = Path(found) if found else None
        self._clock = clock
        self._started = self._written = clock()
        self._pace_from: tuple[float, int] | None = None  # (time, done) at the first unit done here
        self._write(force=True)

    def update(self, done: int, total: int | None = None, text: str = "") -> None:
        """`done` of `total` (unchanged when None) units finished; `text` says what runs now."""
        if total is not None:
            self.total = self.bar.total = total
        if text != self.text:
            self.bar.set_postfix_str(text, refresh=False)
        self.text = text
        self.bar.update(done - self.bar.n)
        if self._pace_from is None and done > self.done:
            self._pace_from = (self._clock(), done)
        self.done = done
        self._write()

    def remaining(self) -> float | None:
        """Seconds left at the pace since the first unit done here (its start-up, such as a pool of
        processes or a compilation, left out); None before two updates or at the end."""
        if self._pace_from is None or self.done >= self.total:
            return None
        since, first = self._pace_from
        finished = self.done - first
        return None if finished <= 0 else (self.total - self.done) * (self._clock() - since) / finished

    def status(self) -> dict:
        """The status file's content; `line` is what the terminal shows."""
        left = self.remaining()
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        line = f"{self.desc}: {self.done}/{self.total} {self.unit}{share}"
        line += "".join(f", {part}" for part in (self.text, left is not None and f"about {duration(left)} left")
                        if part)
        return {"step": self.desc, "done": self.done, "total": self.total, "unit": self.unit,
                "text": self.text, "elapsed_s": round(self._clock() - self._started, 1),
                "remaining_s": None if left is None else round(left, 1), "line": line}

    def close(self) -> None:
        self._write(force=True)
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _write(self, *, force: bool = False) -> None:
        if self.status_file is None or (not force and self._clock() - self._written < WRITE_EVERY):
            return
        self._written = self._clock()
        try:
            write_json(self.status_file, self.status())
        except OSError:
            self.status_file = None  # the terminal line is a courtesy: never stop the step for it
