"""environment.yml (for conda and Binder) must pin exactly what pyproject.toml pins."""

import tomllib

import yaml

from paperlib.core import paths


def _pins(requirements):
    return {r.split("==")[0].lower(): r.split("==")[1] for r in requirements if "==" in r}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((paths.project_root() / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"])
    for extra in ("cpu", "dev"):
        wanted |= _pins(project["optional-dependencies"][extra])
    env = yaml.safe_load((paths.project_root() / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip) == wanted
    assert "python=3.11" in env["dependencies"]


def test_binder_environment_has_exactly_the_same_pins():
    def pins_of(path):
        env = yaml.safe_load(path.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        conda = [d for d in env["dependencies"] if isinstance(d, str)]
        return _pins(pip), sorted(conda), env["channels"]

    root = paths.project_root()
    assert pins_of(root / "binder" / "environment.yml") == pins_of(root / "environment.yml")
    assert (root / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_binder_post_build_imports_what_exists():
    """postBuild's Python (a heredoc, so no import checker sees it) names modules that exist."""
    script = (paths.project_root() / "binder" / "postBuild").read_text()
    python = script.split("<<'PY'\n", 1)[1].split("\nPY", 1)[0]
    imports = [line for line in python.splitlines() if line.startswith(("from ", "import "))]
    assert imports, "postBuild's Python heredoc was not found"
    exec("\n".join(imports), {})  # noqa: S102 - the project's own script

def test_the_lock_and_memory_libraries_are_pinned_as_installed():
    """filelock (the run-folder lock) and psutil (benchmarks/bench_memory.py) are the project's own
    dependencies, pinned in pyproject.toml (and so, by the tests above, in both environment.yml)."""
    from importlib import metadata

    project = tomllib.loads((paths.project_root() / "pyproject.toml").read_text())["project"]
    pins = _pins(project["dependencies"])
    for name in ("filelock", "psutil"):
        assert pins.get(name) == metadata.version(name), name
