"""The test tiers' own machinery: the fast tier reports slow unmarked tests without failing, and a
crashed pytest-xdist worker fails its file instead of making the run wait."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from paperlib.core import paths
from tests.fast_tier import over_the_limit

GUARD = 300  # seconds: only so that a hang cannot stall the suite; no assertion on time


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest run in `folder` (its own rootdir) with this project's test plugins importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(paths.project_root())
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=GUARD)


def test_over_the_limit_lists_the_slower_tests_slowest_first():
    lines = over_the_limit({"a": 0.5, "b": 12.25, "c": 30.0}, 10)
    assert [line.split()[-1] for line in lines] == ["c", "b"] and "12.2 s" in lines[1]
    assert over_the_limit({"a": 1.0}, 10) == []


def test_the_fast_tier_warns_about_slow_unmarked_tests_and_fails_only_on_correctness(tmp_path):
    (tmp_path / "test_some.py").write_text(textwrap.dedent("""
        import time
        import pytest

        def test_unmarked_and_slow():
            time.sleep(0.6)

        @pytest.mark.slow
        def test_marked_slow():
            time.sleep(0.6)

        def test_quick():
            pass
    """))
    done = pytest_in(tmp_path, "-p", "tests.fast_tier", "--fast-limit", "0.3")
    assert done.returncode == 0, done.stdout + done.stderr
    warning = done.stdout.split("over the fast tier's 0.3 s (a warning)", 1)[1]
    assert "test_unmarked_and_slow" in warning
    assert "test_marked_slow" not in warning and "test_quick" not in warning
    (tmp_path / "test_wrong.py").write_text("def test_wrong():\n    assert 1 == 2\n")
    assert pytest_in(tmp_path, "-p", "tests.fast_tier", "--fast-limit", "0.3").returncode == 1


def test_a_crashed_worker_fails_its_file_and_the_run_ends(tmp_path):
    (tmp_path / "test_crash.py").write_text(textwrap.dedent("""
        import os
        import signal

        def test_before():
            pass

        def test_dies():
            os.kill(os.getpid(), signal.SIGKILL)

        def test_after():
            pass
    """))
    (tmp_path / "test_fine.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    done = pytest_in(tmp_path, "-p", "tests.file_scheduling", "-n", "2")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "test_crash.py failed: its worker" in out and "SIGKILL" in out
    assert "did not run: test_crash.py::test_after" in out
    assert out.count("FAILED test_crash.py::test_dies") == 1  # the crashed file is not run again
    assert "1 failed, 3 passed" in out
