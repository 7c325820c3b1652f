"""The run folder: typed, atomic save and load, a manifest, and refusal of mismatched runs.

Every notebook reads and writes one run folder through this module. A file appears complete or
not at all (written to a temporary name, then renamed). The manifest records the configuration,
package versions, git commit and dataset fingerprint; opening the folder with other parameters or
other data is refused with a message that says what differs and what to do.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paperlib.core import paths
from paperlib.core.files import atomic_path, write_json
from paperlib.core.config import Config, recorded_params
from paperlib.core.config import make_config

MANIFEST = "manifest.json"
METRICS = "metrics.json"
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


class RunFolder:
    """One run's folder; open it with `open_run`."""

    def __init__(self, path: Path, config: Config):
        self.path = path
        self.config = config

    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return self.file(name).exists()

    def require(self, name: str, made_by: str) -> Path:
        """The path of an artifact, or a clear error naming the notebook that makes it."""
        if not self.has(name):
            raise RunFolderError(
                f"Run folder {self.path} has no {name}: run notebook {made_by} first "
                f"(or `make reproduce PROFILE={self.config.profile}`)."
            )
        return self.file(name)

    # --- typed save and load -------------------------------------------------------------
    def save_table(self, name: str, table: pd.DataFrame) -> Path:
        with atomic_path(self.file(name)) as tmp:
            table.to_csv(tmp, index=False)
        return self.file(name)

    def load_table(self, name: str, made_by: str) -> pd.DataFrame:
        return pd.read_csv(self.require(name, made_by), keep_default_na=False, na_values=[""])

    def save_arrays(self, name: str, **arrays: np.ndarray) -> Path:
        with atomic_path(self.file(name)) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        return self.file(name)

    def load_arrays(self, name: str, made_by: str) -> dict[str, np.ndarray]:
        with np.load(self.require(name, made_by), allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    def save_json(self, name: str, data: Any) -> Path:
        write_json(self.file(name), data)
        return self.file(name)

    def load_json(self, name: str, made_by: str) -> Any:
        return json.loads(self.require(name, made_by).read_text())

    # --- metrics and manifest ------------------------------------------------------------
    def record_metrics(self, step: str, values: dict[str, Any]) -> dict[str, Any]:
        """Store a notebook's key numbers under its name in metrics.json (other steps kept)."""
        metrics = json.loads(self.file(METRICS).read_text()) if self.has(METRICS) else {}
        metrics[step] = values
        write_json(self.file(METRICS), metrics)
        return metrics

    def metrics(self) -> dict[str, Any]:
        return json.loads(self.file(METRICS).read_text()) if self.has(METRICS) else {}

    def manifest(self) -> dict[str, Any]:
        return json.loads(self.file(MANIFEST).read_text()) if self.has(MANIFEST) else {}

    def check_dataset(self, fingerprint: str) -> None:
        """Refuse data other than the data this run folder was made from."""
        known = self.manifest().get("dataset_fingerprint")
        if known and known != fingerprint:
            raise RunFolderError(
                f"Run folder {self.path} was made from other data (fingerprint {known[:12]}, "
                f"now {fingerprint[:12]}). Use another run_dir, or delete the folder to start again."
            )

    def bind_dataset(self, fingerprint: str, root: Path, *, source: str | None = None) -> None:
        """Record the dataset's fingerprint (and, when a split list kept some of its clips, the
        whole folder's `source` fingerprint), refusing a folder made from other data."""
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
            "config": self.config.result_params(),
            "config_key": self.config.key(),
            "profile": self.config.profile,
            "packages": package_versions(),
            "git_commit": git_commit(),
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        manifest.setdefault("created", manifest["updated"])
        write_json(self.file(MANIFEST), manifest)


def open_run(config: Config, *, create: bool = True) -> RunFolder:
    """Open (or create) the run folder of `config`, refusing one made with other parameters."""
    path = config.run_path()
    run = RunFolder(path, config)
    manifest = run.manifest()
    if manifest:
        if manifest.get("config_key") != config.key():
            stored = recorded_params(manifest.get("config", {}))
            now = json.loads(json.dumps(config.result_params()))
            diff = {k: (stored.get(k), now.get(k)) for k in sorted(set(stored) | set(now))
                    if stored.get(k) != now.get(k)}
            if not diff:  # only parameters added since the run, at their defaults
                run._write_manifest(manifest)
                return run
            changes = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
            raise RunFolderError(
                f"Run folder {path} was made with other parameters ({changes}). "
                "Use another run_dir (or profile), or delete the folder to start again."
            )
        return run
    if not create:
        raise RunFolderError(f"No run folder at {path}: run notebook 01_data first.")
    path.mkdir(parents=True, exist_ok=True)
    run._write_manifest({})
    return run


def open_existing_run(path: str | Path) -> RunFolder:
    """An existing run folder, its Config rebuilt from the manifest (for `paperlib similar`)."""
    path = paths.resolve(path)
    if not path.is_dir():
        raise RunFolderError(
            f"No run folder at {path}: give the folder of a run made by the notebooks "
            "(for example runs/default), or run `paperlib reproduce` first.")
    if not (path / MANIFEST).is_file():
        raise RunFolderError(
            f"{path} has no {MANIFEST}, so it is not a run folder: give the folder of a run made "
            "by the notebooks (run notebook 01_data first to create one).")
    manifest = json.loads((path / MANIFEST).read_text())
    if not isinstance(manifest.get("config"), dict):
        raise RunFolderError(f"{path / MANIFEST} records no configuration: run notebook 01_data again.")
    stored = manifest["config"]
    # the data's location is no result parameter (older manifests held it): GTZAN's is where
    # step 01 found the audio
    gtzan = stored.get("dataset") == "gtzan"
    where = (stored.get("data_dir") or manifest.get("dataset_root")) if gtzan else None
    try:
        config = make_config(**recorded_params(stored), profile=manifest.get("profile", "default"),
                             run_dir=str(path), data_dir=where)
    except (TypeError, ValueError) as exc:
        raise RunFolderError(f"{path / MANIFEST} holds parameters this version cannot use ({exc}); "
                             "make the run again with this version.") from None
    return RunFolder(path, config)
