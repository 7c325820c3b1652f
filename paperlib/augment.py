"""Training batches cut from the images on the fly, with light augmentation.

Each epoch sees every clip shifted in time by a random number of frames (circularly, so nothing is
lost) and scaled slightly in level: the token windows fall at new places relative to the music, so
the model cannot memorise a clip by where its tokens start and must learn what recurs across clips.
"""

from __future__ import annotations

import numpy as np

from paperlib.config import Config
from paperlib.features import cut_tokens


def augment_images(images: np.ndarray, rng: np.random.Generator, *, max_shift: int) -> np.ndarray:
    """Roll each image along time by a random shift in [-max_shift, max_shift]."""
    out = np.empty_like(images)
    for i, shift in enumerate(rng.integers(-max_shift, max_shift + 1, len(images))):
        out[i] = np.roll(images[i], int(shift), axis=-1)
    return out


def batches(images: np.ndarray, labels: np.ndarray, config: Config, *, seed: int,
            augment: bool = True):
    """A Keras PyDataset of (tokens, labels) batches, reshuffled and re-augmented every epoch."""
    import keras

    max_shift = config.token_frames // 2

    class TokenBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(images))

        def __len__(self):
            return int(np.ceil(len(images) / config.batch_size))

        def __getitem__(self, index):
            take = self.order[index * config.batch_size:(index + 1) * config.batch_size]
            chosen = images[take]
            if augment:
                chosen = augment_images(chosen, self.rng, max_shift=max_shift)
            return cut_tokens(chosen, config), labels[take]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(images))

    return TokenBatches()
