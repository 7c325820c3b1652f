"""The run folder: every file named in the registry, written atomically, a manifest, typed results,
and refusal of a folder made from other parameters, other data or another results schema.

Every notebook reads and writes one run folder through this module. A file appears complete or
not at all (`paperlib.core.files`). The manifest records the configuration, package versions,
dataset fingerprint, results schema and the git commit of each step; opening the folder with other
parameters or other data is refused with a message that says what differs and what to do.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paperlib.core import paths
from paperlib.core.config import Config, recorded_params
from paperlib.core.files import atomic_path, write_json
from paperlib.core.registry import artifact
from paperlib.core.results import SCHEMA_VERSION, StepResult, read_result

TRACKED_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "numpy", "librosa", "scikit-learn",
                    "pandas", "soundfile", "papermill")


class RunFolderError(RuntimeError):
    """A run folder that cannot serve this request; the message says what to do."""


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def git_commit() -> str:
    """The short commit of the project's checkout, "+dirty" with uncommitted changes."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.project_root(),
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.project_root(), capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json_file(path: Path) -> Any:
    """A JSON file's content, or RunFolderError naming the file when it is not valid JSON."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path} is not valid JSON ({exc}).") from None


class RunFolder:
    """One run's folder; open it with `open_run` or `open_existing_run`."""

    def __init__(self, path: Path, config: Config):
        self.path = path
        self.config = config

    # --- the registry's files --------------------------------------------------------------
    def path_of(self, name: str, **fields: object) -> Path:
        """Where the registry's artifact `name` lies in this run folder."""
        return self.path / artifact(name).relative(**fields)

    def has(self, name: str, **fields: object) -> bool:
        return self.path_of(name, **fields).exists()

    def require(self, name: str, **fields: object) -> Path:
        """The path of an artifact, or a clear error naming the step that makes it."""
        path = self.path_of(name, **fields)
        if not path.exists():
            made_by = artifact(name).written_by
            raise RunFolderError(
                f"Run folder {self.path} has no {path.relative_to(self.path)}, which {made_by} "
                f"writes: run {made_by} first (or `make reproduce PROFILE={self.config.profile}`).")
        return path

    def save_table(self, name: str, table: pd.DataFrame, **fields: object) -> Path:
        path = self.path_of(name, **fields)
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        return path

    def load_table(self, name: str, **fields: object) -> pd.DataFrame:
        """A table of the run folder, or RunFolderError naming the file when it cannot be parsed
        or lacks the columns the registry names for it."""
        path = self.require(name, **fields)
        declared = artifact(name)
        redo = f"run {declared.written_by} again (or delete the file)"
        try:
            table = pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise RunFolderError(f"{path} is not a readable table ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]}); {redo}.") from None
        bad = [c for c in declared.integer_columns
               if c not in table or not pd.api.types.is_integer_dtype(table[c])]
        bad += [c for c in declared.text_columns if c not in table or table[c].isna().any()]
        if bad:
            raise RunFolderError(f"{path} lacks usable column(s) {bad} (integers: "
                                 f"{list(declared.integer_columns)}; text without gaps: "
                                 f"{list(declared.text_columns)}); {redo}.")
        return table

    def save_arrays(self, name: str, arrays: Mapping[str, np.ndarray], **fields: object) -> Path:
        path = self.path_of(name, **fields)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    def load_arrays(self, name: str, **fields: object) -> dict[str, np.ndarray]:
        with np.load(self.require(name, **fields), allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    def save_json(self, name: str, data: Any, **fields: object) -> Path:
        path = self.path_of(name, **fields)
        write_json(path, data)
        return path

    def load_json(self, name: str, **fields: object) -> Any:
        return read_json_file(self.require(name, **fields))

    # --- typed results ---------------------------------------------------------------------
    def record(self, result: StepResult) -> StepResult:
        """Store a notebook's typed result in metrics.json (other steps kept) and the commit of
        the code that made it in the manifest."""
        stored = read_json_file(self.path_of("metrics")) if self.has("metrics") else {}
        stored[result.step] = result.model_dump(mode="json")
        self.save_json("metrics", stored)
        manifest = self.manifest()
        manifest.setdefault("steps", {})[result.step] = {"git_commit": git_commit(), "recorded": _now()}
        self._write_manifest(manifest)
        return result

    def results(self) -> dict[str, StepResult]:
        """Every step's recorded result, validated against this version's schema."""
        if not self.has("metrics"):
            return {}
        where = str(self.path_of("metrics"))
        return {step: read_result(step, stored, where=where)
                for step, stored in read_json_file(self.path_of("metrics")).items()}

    def result(self, step: str) -> StepResult:
        """One step's result, or a clear error naming the notebook to run."""
        found = self.results().get(step)
        if found is None:
            raise RunFolderError(f"Run folder {self.path} has no results of {step}: run notebook "
                                 f"{step} first (or `make reproduce PROFILE={self.config.profile}`).")
        return found

    # --- manifest ----------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return read_json_file(self.path_of("manifest")) if self.has("manifest") else {}

    def check_dataset(self, fingerprint: str) -> None:
        """Refuse data other than the data this run folder was made from."""
        known = self.manifest().get("dataset_fingerprint")
        if known and known != fingerprint:
            raise RunFolderError(
                f"Run folder {self.path} was made from other data (fingerprint {known[:12]}, "
                f"now {fingerprint[:12]}). Use another run_dir, or delete the folder to start again.")

    def bind_dataset(self, fingerprint: str, root: Path, *, source: str | None = None) -> None:
        """Record the dataset's fingerprint (and, when a split list kept some of its clips, the
        whole folder's `source` fingerprint) and where it lies, refusing other data."""
        self.check_dataset(fingerprint)
        manifest = self.manifest()
        manifest["dataset_fingerprint"] = fingerprint
        manifest["source_fingerprint"] = source or fingerprint
        manifest["dataset_root"] = str(root)
        self._write_manifest(manifest)

    def dataset_root(self) -> Path:
        """The folder of the run's audio (recorded by step 01)."""
        root = self.manifest().get("dataset_root")
        if not root:
            raise RunFolderError(f"Run folder {self.path} has no dataset yet: run notebook 01_data first.")
        return Path(root)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest.update({
            "schema_version": SCHEMA_VERSION,
            "config": self.config.result_params(),
            "config_key": self.config.key(),
            "profile": self.config.profile,
            "packages": package_versions(),
            "updated": _now(),
        })
        manifest.setdefault("created", manifest["updated"])
        self.save_json("manifest", manifest)


def check_schema(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a run folder written with another results schema, saying what to do."""
    found = manifest.get("schema_version", 1)
    if found != SCHEMA_VERSION:
        raise RunFolderError(
            f"Run folder {path} was written by {'an older' if found < SCHEMA_VERSION else 'a newer'} "
            f"version of paperlib (results schema {found}; this version reads schema "
            f"{SCHEMA_VERSION}). Delete the folder (or use another run_dir) and run again, e.g. "
            f"`make reproduce PROFILE={manifest.get('profile', 'default')}`.")


def open_run(config: Config, *, create: bool = True) -> RunFolder:
    """Open (or create) the run folder of `config`, refusing one made with other parameters."""
    path = config.run_path()
    run = RunFolder(path, config)
    manifest = run.manifest()
    if not manifest:
        if not create:
            raise RunFolderError(f"No run folder at {path}: run notebook 01_data first.")
        path.mkdir(parents=True, exist_ok=True)
        run._write_manifest({})
        return run
    check_schema(path, manifest)
    if manifest.get("config_key") != config.key():
        stored = recorded_params(manifest.get("config", {}))
        now = json.loads(json.dumps(config.result_params()))
        diff = {k: (stored.get(k), now.get(k)) for k in sorted(set(stored) | set(now))
                if stored.get(k) != now.get(k)}
        if diff:
            changes = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
            raise RunFolderError(
                f"Run folder {path} was made with other parameters ({changes}). "
                "Use another run_dir (or profile), or delete the folder to start again.")
        run._write_manifest(manifest)  # only parameters added since the run, at their defaults
    return run


def open_existing_run(path: str | Path) -> RunFolder:
    """An existing run folder, its Config rebuilt from the manifest (for `paperlib similar`)."""
    path = paths.resolve(path)
    if not path.is_dir():
        raise RunFolderError(
            f"No run folder at {path}: give the folder of a run made by the notebooks "
            "(for example runs/default), or run `paperlib reproduce` first.")
    manifest_path = path / artifact("manifest").relative()
    if not manifest_path.is_file():
        raise RunFolderError(
            f"{path} has no {manifest_path.name}, so it is not a run folder: give the folder of a "
            "run made by the notebooks (run notebook 01_data first to create one).")
    manifest = read_json_file(manifest_path)
    check_schema(path, manifest)
    if not isinstance(manifest.get("config"), dict):
        raise RunFolderError(f"{manifest_path} records no configuration: run notebook 01_data again.")
    stored = manifest["config"]
    # the data's location is no result parameter: GTZAN's is where step 01 found the audio
    where = manifest.get("dataset_root") if stored.get("dataset") == "gtzan" else None
    if stored.get("dataset") == "gtzan" and not where:
        raise RunFolderError(f"Run folder {path} has no dataset yet: run notebook 01_data first.")
    try:
        config = Config(**recorded_params(stored), profile=manifest.get("profile", "default"),
                             run_dir=str(path), data_dir=where)
    except (TypeError, ValueError) as exc:
        raise RunFolderError(f"{manifest_path} holds parameters this version cannot use ({exc}); "
                             "make the run again with this version.") from None
    return RunFolder(path, config)
