"""The test suite's pytest-xdist scheduler, a plugin (tests/conftest.py imports its hooks): whole
files to a worker, FILE_GROUPS' files together; a file whose worker dies fails, named with the
worker's exit reason, and is not sent to another worker (a crash would repeat and the run wait)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Under pytest-xdist every test file runs whole on one worker (its module fixtures are built once),
# and these files, which share the session's smoke run and its book, run together on one worker.
FILE_GROUPS = {"test_notebooks.py": "smoke", "test_book.py": "smoke", "test_browser.py": "smoke"}
DOWN = pytest.StashKey[dict[str, str]]()  # worker id -> why it went down
LEFT = pytest.StashKey[dict[str, list[str]]]()  # crashed test -> the tests of its file left unrun


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole files to a worker, FILE_GROUPS' files together (xdist's own `loadgroup` cannot tag
    tests under pytest 9, whose node ids it no longer rewrites)."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return FILE_GROUPS.get(Path(file).name, file)

        def remove_node(self, node):
            """As LoadScopeScheduling's, but the crashed file (scope) is dropped, not queued again:
            its crash is reported and its other tests are named as not run."""
            workload = self.assigned_work[node]
            crashed = next(((scope, nodeid) for scope, unit in workload.items()
                            for nodeid, completed in unit.items() if not completed), None)
            if crashed is not None:
                scope, crashitem = crashed
                left = [n for n, completed in workload.pop(scope).items() if not completed and n != crashitem]
                config.stash.setdefault(LEFT, {})[crashitem] = left
            found = super().remove_node(node)
            return crashed[1] if crashed is not None else found

    return SharedFixtureScheduling(config, log)


def pytest_testnodedown(node, error) -> None:
    """Keep why a worker went down (and its process's exit status, when known), for its crash
    report."""
    if error is None:
        return
    reason = str(error)
    popen = getattr(getattr(node.gateway, "_io", None), "popen", None)
    try:
        code = popen.wait(timeout=5) if popen is not None else None
        if code is not None and code < 0:
            import signal

            reason += f"; killed by {signal.Signals(-code).name}"
        elif code is not None:
            reason += f"; exit status {code}"
    except Exception:  # noqa: BLE001 - the exit status is a courtesy; the failure is reported anyway
        pass
    node.config.stash.setdefault(DOWN, {})[node.gateway.id] = reason


def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched) -> None:
    """Name the file, the worker's exit reason and the tests of the file that did not run."""
    config = sched.config
    worker = getattr(getattr(report, "node", None), "gateway", None)
    reason = config.stash.get(DOWN, {}).get(worker.id if worker else "", "no reason given")
    left = config.stash.get(LEFT, {}).get(crashitem, [])
    file = crashitem.split("::", 1)[0]
    report.longrepr = (f"{file} failed: its worker {worker.id if worker else '?'} died while running "
                       f"{crashitem} ({reason}). The file is not run again; "
                       + (f"{len(left)} other test(s) of it did not run: {', '.join(left)}."
                          if left else "no other test of it was left."))
