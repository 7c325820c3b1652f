"""Every file a run folder can hold, declared once: its name, where it lies, the step that writes it
and what it holds. Code reaches a run's files only through `RunFolder.path_of(name, **fields)`;
no file name of a run folder is spelled anywhere else.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

FINAL = -1  # the `fold` of the model trained on every clip (for embeddings and `paperlib similar`)


@dataclass(frozen=True)
class Artifact:
    """One kind of file of a run folder; `pattern` is relative to the folder, with {fields}."""

    name: str
    pattern: str
    written_by: str  # what writes it: "notebook 01_data", "every notebook", a command
    holds: str
    integer_columns: tuple[str, ...] = ()  # a table's columns that must be there, as integers
    text_columns: tuple[str, ...] = ()  # a table's columns that must be there, without gaps

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.pattern) if f)

    def relative(self, **fields: object) -> Path:
        """The path inside the run folder; `fold` is a fold number (FINAL: the final model)."""
        if set(fields) != self.fields:
            raise ValueError(f"Artifact {self.name!r} ({self.pattern}) takes the fields "
                             f"{sorted(self.fields) or 'none'}, got {sorted(fields) or 'none'}.")
        if "fold" in fields:
            fold = fields["fold"]
            fields["fold"] = "final" if fold == FINAL else f"fold_{int(fold)}"  # type: ignore[arg-type]
        return Path(self.pattern.format(**fields))


# The files of one model folder (a fold's, the final model's or one of its attempts).
MODEL_FILES = {
    "model": ("model.keras", "a trained fold model, or the final all-clip model"),
    "history": ("history.csv", "a model's loss and accuracy per epoch"),
    "model_outputs": ("outputs.npz", "a model's outputs for its held-out clips and its signature of every clip"),
    "model_done": ("done.json", "written last: the model is complete (accuracy, epochs, clips, git commit, "
                              "the model file's SHA-256)"),
}


def model_file(folder: Path, name: str) -> Path:
    """The file `name` (a key of MODEL_FILES) of a model folder."""
    return folder / MODEL_FILES[name][0]


def _declare(*artifacts: Artifact) -> dict[str, Artifact]:
    return {a.name: a for a in artifacts}


ARTIFACTS = _declare(
    Artifact("manifest", "manifest.json", "every step",
             "parameters, package versions, dataset fingerprint, schema version, each step's git commit"),
    Artifact("metrics", "metrics.json", "every notebook",
             "each notebook's typed results (paperlib.core.results), by notebook name"),
    Artifact("tracks", "tracks.csv", "notebook 01_data", "the track table of the usable clips (row i = clip i)",
             integer_columns=("label",), text_columns=("track_id", "genre", "path")),
    Artifact("features", "features.npz", "notebook 01_data",
             "every usable clip's grayscale log-mel image and MFCC statistics"),
    Artifact("model_check", "model_check.keras", "notebook 02_model",
             "an untrained model saved and reloaded to check the round trip"),
    Artifact("model_dir", "cv/{pooling}/{fold}", "notebook 03_cv_training", "one trained model's folder"),
    Artifact("training_checkpoint", "cv/training_checkpoint.npz", "notebook 03_cv_training",
             "every model of the training program: weights, optimizer state and history as of "
             "its last checkpoint (each epoch with `one`, every 10 s with `vector`; deleted once "
             "every model's folder is written)"),
    Artifact("final_attempts", "cv/{pooling}/final_attempts", "notebook 03_cv_training",
             "the final model's trainings from other seeds, until the best moves to cv/<pooling>/final"),
    Artifact("final_attempt_dir", "cv/{pooling}/final_attempts/attempt_{attempt}", "notebook 03_cv_training",
             "one training of the final model (a model folder)"),
    *(Artifact(name, f"cv/{{pooling}}/{{fold}}/{file}", "notebook 03_cv_training", holds)
      for name, (file, holds) in MODEL_FILES.items()),
    Artifact("oof", "oof_{pooling}.npz", "notebook 03_cv_training",
             "each clip's outputs from the fold model that did not see it"),
    Artifact("final_outputs", "final_{pooling}.npz", "notebook 03_cv_training",
             "the final model's outputs for every clip: one embedding space for 05, 06, 08"),
    Artifact("fold_signatures", "fold_signatures_{pooling}.npz", "notebook 03_cv_training",
             "every clip's signature under each fold model, (folds, clips, dim)"),
    Artifact("fold_table", "folds_{pooling}.csv", "notebook 03_cv_training",
             "one row per fold: accuracy, epochs, best epoch, held-out clips, restarts, seconds"),
    Artifact("mfcc_oof", "oof_mfcc.npz", "notebook 03_cv_training",
             "out-of-fold probabilities of the MFCC-statistics baseline on the same folds"),
    Artifact("confusion_matrix", "confusion_matrix.csv", "notebook 04_confusion",
             "out-of-fold confusion counts, genres by genres"),
    Artifact("explanations", "explanations.npz", "notebook 09_explanations",
             "each held-out clip's token importance by attention, occlusion and integrated gradients, "
             "and its deletion curves"),
    Artifact("run_lock", "writer.lock", "every command and notebook that writes the folder",
             "the OS file lock one writer holds (paperlib.core.run_lock); empty"),
    Artifact("run_lock_holder", "writer.json", "the lock's holder",
             "who holds the lock: command line, PID, host, since when (removed on release)"),
    Artifact("kernel_log", "logs/{notebook}.log", "`paperlib reproduce`",
             "everything a notebook's kernel printed outside the notebook (library logs, warnings)"),
    Artifact("progress_status", "logs/{notebook}.progress.json", "a notebook's long steps",
             "the last progress a long step of the notebook reported (`paperlib reproduce` shows it live)"),
    Artifact("executed_notebook", "notebooks/{notebook}.ipynb", "`paperlib reproduce`",
             "the executed copy of a notebook, outputs included"),
)


def artifact(name: str) -> Artifact:
    """The declared artifact `name`, or a ValueError listing the declared ones."""
    if name not in ARTIFACTS:
        raise ValueError(f"No artifact {name!r} is declared; the run folder holds {sorted(ARTIFACTS)}.")
    return ARTIFACTS[name]


# The files of a sweep folder (`paperlib sweep`): one run folder per member, and the sweep's record.
SWEEP_ARTIFACTS = _declare(
    Artifact("sweep_record", "sweep.json", "`paperlib sweep`",
             "the grid, every member's state (done, failed, pending) and what the members say together"),
    Artifact("member_dir", "members/{member}", "`paperlib sweep`", "one member's run folder"),
    Artifact("sweep_book", "book", "`paperlib book --sweep`", "the sweep's Jupyter Book (built)"),
    Artifact("sweep_lock", ARTIFACTS["run_lock"].pattern, "`paperlib sweep`",
             "the sweep folder's lock, as a run folder's (paperlib.core.run_lock)"),
    Artifact("sweep_lock_holder", ARTIFACTS["run_lock_holder"].pattern, "`paperlib sweep`",
             "who holds the sweep folder's lock"),
)


def sweep_artifact(name: str) -> Artifact:
    """The declared sweep-folder artifact `name`, or a ValueError listing the declared ones."""
    if name not in SWEEP_ARTIFACTS:
        raise ValueError(f"No sweep artifact {name!r} is declared; a sweep folder holds "
                         f"{sorted(SWEEP_ARTIFACTS)}.")
    return SWEEP_ARTIFACTS[name]
