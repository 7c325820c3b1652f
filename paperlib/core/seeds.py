"""Every random stream of a run's training, derived from the run's one seed in one place.

numpy's `SeedSequence` spawns independent, reproducible streams: a stream is named by its
purpose and the numbers that tell its model apart (fold, final-model attempt, restart, epoch), so
two runs, a resumed run and a model trained alone all draw the same numbers, and no two streams
share one by accident (as hand-picked offsets such as `seed + fold` and `seed + 1000 * attempt`
could). Both poolings of a fold draw the same streams: the ablation is paired.
"""

from __future__ import annotations

import numpy as np

PURPOSES = ("inner_split", "weights", "batch_order", "augmentation")
FINAL_KEY = -1  # registry.FINAL, the model trained on every clip


def seed_sequence(seed: int, purpose: str, *keys: int) -> np.random.SeedSequence:
    """The stream of `purpose` for `keys` (fold, attempt, restart, epoch... as that purpose
    uses them) of the run seeded with `seed`. A fold of FINAL_KEY (-1) is the final model."""
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown random stream {purpose!r}; expected one of {PURPOSES}.")
    if seed < 0:
        raise ValueError(f"A run's seed is a non-negative integer, got {seed}.")
    # spawn keys are non-negative: shift every key by one so that FINAL_KEY (-1) becomes 0
    shifted = tuple(int(key) + 1 for key in keys)
    if any(key < 0 for key in shifted):
        raise ValueError(f"Stream keys are integers >= {FINAL_KEY}, got {keys}.")
    return np.random.SeedSequence(int(seed), spawn_key=(PURPOSES.index(purpose), *shifted))


def generator(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """A numpy Generator on the stream (`seed_sequence`)."""
    return np.random.default_rng(seed_sequence(seed, purpose, *keys))


def integer_seed(seed: int, purpose: str, *keys: int) -> int:
    """A 31-bit integer from the stream, for libraries that take an integer seed (scikit-learn,
    Keras)."""
    return int(seed_sequence(seed, purpose, *keys).generate_state(1)[0] >> 1)
