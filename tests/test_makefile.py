"""`make` prints the commands' own output, not its recipe lines."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from paperlib.core import paths


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
@pytest.mark.parametrize("target, expected", [
    ("reproduce", "paperlib reproduce --profile smoke"),
    ("sweep", "paperlib sweep --profile smoke --seeds 5"),
    ("check", "python -m pytest -q -m not slow -n 1 --fast-limit 10"),
])
def test_make_prints_only_the_commands_own_output(tmp_path, target, expected):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("paperlib", "python"):  # stand-ins that say how they were called
        script = venv / "bin" / name
        script.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        script.chmod(0o755)
    (venv / ".installed-cpu").touch()  # newer than pyproject.toml: no set-up
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(["make", target, f"VENV={venv}", "ACCELERATOR=cpu", "PROFILE=smoke",
                           "TEST_WORKERS=1", f"GENRE_SIGNATURES_CACHE={tmp_path / 'cache'}"],
                          cwd=paths.project_root(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [expected]
