"""The layers of paperlib import one way only: import-linter's layers contract (pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from paperlib.core import paths

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the paperlib found in `root` (its pyproject.toml's contract)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layer_contract_is_kept():
    result = lint_imports(paths.project_root())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(paths.project_root() / "paperlib", tmp_path / "paperlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(paths.project_root() / "pyproject.toml", tmp_path / "pyproject.toml")
    core = tmp_path / "paperlib" / "core" / "paths.py"
    core.write_text(core.read_text() + "\nfrom paperlib.publish import book  # upward: refused\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "paperlib.core.paths -> paperlib.publish.book" in result.stdout
