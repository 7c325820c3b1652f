"""The terminal line under a running notebook's bar: what its long step reports (see
`paperlib.core.progress`), read from the status file in a thread and shown as one updating line."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import TracebackType

POLL_EVERY = 0.5  # seconds


class StatusLine:
    """While the block runs, show `path`'s `line` under the notebook's bar (when `enabled`); once
    more at the end, so the last state a step reported is always shown."""

    def __init__(self, path: Path, *, enabled: bool = True, position: int = 1):
        self.path, self.enabled, self.position = path, enabled, position
        self.shown = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None

    def poll(self) -> str:
        """Read the status file and show its line when it changed; the line shown ("" before any)."""
        try:
            line = json.loads(self.path.read_text()).get("line", "")
        except (OSError, ValueError, AttributeError):
            return self.shown  # absent, or a reader that lost a race with a rename: next time
        if line and line != self.shown and self._bar is not None:
            self._bar.set_description_str(f"  {line}", refresh=True)
        self.shown = line or self.shown
        return self.shown

    def _watch(self) -> None:
        while not self._stop.wait(POLL_EVERY):
            self.poll()

    def __enter__(self) -> StatusLine:
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=0, bar_format="{desc}", position=self.position, leave=False)
            self._thread = threading.Thread(target=self._watch, daemon=True, name="paperlib-status")
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.poll()
        if self._bar is not None:
            self._bar.close()
