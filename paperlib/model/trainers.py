"""Which trainer trains a run's models: `one` (`program`) or `vector` (`vectorised`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.model.training_state import ModelSpec, TrainedModel


def train_models(specs: list[ModelSpec], tokens: np.ndarray, labels: np.ndarray, config: Config,
                 checkpoint_path: Path, *, progress: bool = True) -> dict[str, TrainedModel]:
    """Train every spec to the end with `config.trainer`, resuming from `checkpoint_path`; the
    trained models by `ModelSpec.key`."""
    if config.trainer == "vector":
        from paperlib.model.vectorised import train_stacked

        return train_stacked(specs, tokens, labels, config, checkpoint_path, progress=progress)
    from paperlib.model.program import train_together

    return train_together(specs, tokens, labels, config, checkpoint_path, progress=progress)
