"""Reading a finished run for publishing: its executed notebooks, the papermill parameters they
record, checked against each other and the run's manifest, and its typed results; the commands
that make what is missing."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

from paperlib.core.config import LOCATION_KEYS, load_profile, recorded_params
from paperlib.core.registry import artifact
from paperlib.core.run_folder import open_existing_run, read_json_file
from paperlib.publish.notebook_runner import notebook_names


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The papermill parameters an executed notebook records: {"profile": ..., "overrides": {...}}."""
    params = read_json_file(path).get("metadata", {}).get("papermill", {}).get("parameters")
    if not isinstance(params, dict) or "profile" not in params:
        raise ValueError(f"{path} records no papermill parameters (metadata.papermill.parameters); "
                         "expected a notebook executed by `paperlib reproduce`.")
    return {"profile": params["profile"], "overrides": dict(params.get("overrides") or {})}


def assignment(name: str, value: Any) -> str:
    """`NAME=VALUE` as `--set` reads it (YAML): ablation=true, run_dir=runs/x."""
    return f"{name}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"


def reproduce_command(parameters: dict[str, Any], notebooks: list[str]) -> str:
    """The command that executes `notebooks` with these parameters."""
    parts = [".venv/bin/paperlib", "reproduce", "--profile", shlex.quote(str(parameters["profile"]))]
    for name, value in sorted(parameters["overrides"].items()):
        parts += ["--set", shlex.quote(assignment(name, value))]
    return " ".join(parts + ["--notebooks", ",".join(notebooks)])


def collect_notebooks(run_dir: Path) -> dict[str, Path]:
    """The run's executed notebooks by name; all must exist, else FileNotFoundError naming the
    missing ones and the command that makes them."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"Run folder {run_dir} does not exist; run `make reproduce` (or "
                                "`.venv/bin/paperlib reproduce --profile PROFILE`) first.")
    names = notebook_names()
    found = {n: run_dir / artifact("executed_notebook").relative(notebook=n) for n in names}
    missing = [n for n, p in found.items() if not p.is_file()]
    if missing:
        present = [p for p in found.values() if p.is_file()]
        if present:
            params = notebook_parameters(present[0])
        else:
            manifest = run_dir / artifact("manifest").relative()
            profile = read_json_file(manifest).get("profile", "default") if manifest.is_file() else "default"
            params = {"profile": profile, "overrides": {"run_dir": str(run_dir)}}
        raise FileNotFoundError(
            f"Run {run_dir} lacks executed notebook(s) {', '.join(missing)}. "
            f"Make them with: {reproduce_command(params, missing)}")
    return found


def _what_decides(params: dict[str, Any]) -> dict[str, Any]:
    """A notebook's parameters less where data came from (`data_dir`, mirror URLs): notebooks run
    with and without a mirror still belong to one run."""
    overrides = {k: v for k, v in params.get("overrides", {}).items() if k not in LOCATION_KEYS}
    return {**params, "overrides": overrides}


def check_same_run(notebooks: dict[str, Path], manifest: dict[str, Any]) -> dict[str, Any]:
    """The parameters shared by every notebook; ValueError naming any notebook executed with other
    parameters than the rest, or with parameters that do not describe the run's manifest."""
    params = {name: notebook_parameters(path) for name, path in notebooks.items()}
    keys = {name: json.dumps(_what_decides(p), sort_keys=True) for name, p in params.items()}
    common, _ = Counter(keys.values()).most_common(1)[0]
    odd = [name for name, key in keys.items() if key != common]
    shared = next(params[name] for name, key in keys.items() if key == common)
    if odd:
        details = "; ".join(f"{n} has {keys[n]}" for n in odd)
        raise ValueError(f"Notebooks of mixed runs: {', '.join(odd)} executed with other parameters "
                         f"than the others ({common}): {details}. Re-run it with: "
                         f"{reproduce_command(shared, odd)}")
    if manifest.get("profile") != shared["profile"]:
        raise ValueError(f"The notebooks were executed with profile {shared['profile']!r} but the "
                         f"run's manifest records profile {manifest.get('profile')!r}.")
    config = load_profile(shared["profile"], **shared["overrides"])
    if recorded_params(manifest.get("config", {})) != json.loads(json.dumps(config.result_params())):
        raise ValueError(f"The notebooks' parameters {common} give configuration {config.key()}, but "
                         f"the run's manifest records configuration {manifest.get('config_key')}: the "
                         "notebooks belong to another run (or the profile changed since the run).")
    return shared


def read_run(run_dir: Path) -> dict[str, Any]:
    """Everything the book needs from a run, checked: notebooks, parameters, manifest and the
    typed results of every notebook."""
    run_dir = Path(run_dir).resolve()
    notebooks = collect_notebooks(run_dir)
    folder = open_existing_run(run_dir)
    manifest = folder.manifest()
    parameters = check_same_run(notebooks, manifest)
    results = folder.results()
    unrecorded = [n for n in notebooks if n not in results]
    if unrecorded:
        raise ValueError(f"{folder.path_of('metrics')} has no results of {', '.join(unrecorded)}; "
                         f"re-run it with: {reproduce_command(parameters, unrecorded)}")
    return {"run_dir": run_dir, "notebooks": notebooks, "parameters": parameters,
            "manifest": manifest, "results": results}
