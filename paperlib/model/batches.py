"""Training batches cut from the uint8 images on the fly, so a fold never holds float tokens of all clips."""

from __future__ import annotations

import numpy as np

from paperlib.core.config import Config
from paperlib.data.features import cut_tokens


def token_batches(images: np.ndarray, labels: np.ndarray, config: Config, *, seed: int):
    """A Keras PyDataset of (tokens, labels) batches in a new seeded order every epoch."""
    import keras

    class TokenBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(images))

        def __len__(self):
            return int(np.ceil(len(images) / config.batch_size))

        def __getitem__(self, index):
            take = self.order[index * config.batch_size:(index + 1) * config.batch_size]
            return cut_tokens(images[take], config), labels[take]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(images))

    return TokenBatches()
