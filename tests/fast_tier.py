"""The fast tier's drift report, a pytest plugin (tests/conftest.py imports its hooks): with
`--fast-limit SECONDS`, the unmarked tests that took longer are listed at the end as a warning.
A slower machine makes no test fail; `make check` passes or fails on correctness alone."""

from __future__ import annotations

import pytest

SPENT = pytest.StashKey[dict[str, float]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast-limit", type=float, default=None, metavar="SECONDS",
                     help="list, at the end, every test not marked slow whose setup and call took "
                          "longer than SECONDS (`make check`: a warning, never a failure; mark such "
                          "a test @pytest.mark.slow or make it cheaper)")


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> None:
    """Add up each unmarked test's setup and call time (a slow fixture makes its first test slow),
    where the reports arrive (the controller under pytest-xdist); the status is left to others."""
    if config.getoption("fast_limit") is None or report.when == "teardown" or "slow" in report.keywords:
        return None
    spent = config.stash.setdefault(SPENT, {})
    spent[report.nodeid] = spent.get(report.nodeid, 0.0) + report.duration
    return None


def over_the_limit(spent: dict[str, float], limit: float) -> list[str]:
    """The warning's lines: the tests over `limit` seconds, slowest first."""
    return [f"{seconds:6.1f} s  {nodeid}" for nodeid, seconds in
            sorted(spent.items(), key=lambda item: -item[1]) if seconds > limit]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Name the unmarked tests over --fast-limit in a warning section (nothing fails for them)."""
    limit = config.getoption("fast_limit")
    lines = over_the_limit(config.stash.get(SPENT, {}), limit) if limit is not None else []
    if not lines:
        return
    terminalreporter.section(f"unmarked tests over the fast tier's {limit:g} s (a warning)",
                             sep="-", yellow=True)
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line("Mark them @pytest.mark.slow or make them cheaper (times depend on "
                                "the machine: nothing failed for them).")
