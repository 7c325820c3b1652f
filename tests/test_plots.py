import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

from paperlib.figures import plots
from paperlib.core.config import Config


def test_each_plot_returns_a_figure_with_content():
    config = Config()
    image = np.random.default_rng(0).integers(0, 256, (217, 335), dtype=np.uint8)
    figures = [
        plots.class_balance(pd.DataFrame({"genre": ["blues", "rock", "rock"]})),
        plots.spectrogram_with_tokens(image, config, moment=(3.0, 5.5),
                                      attention=np.full(10, 0.1)),
        plots.learning_curves([pd.DataFrame({"epoch": [1, 2], "accuracy": [0.1, 0.5],
                                             "val_accuracy": [0.2, 0.4], "loss": [2.0, 1.0],
                                             "val_loss": [2.1, 1.2]})]),
        plots.fold_accuracies(pd.DataFrame({"fold": [1, 2], "accuracy": [0.8, 0.9]}), chance=0.1,
                              baselines={"MFCC": 0.5}),
    ]
    for figure in figures:
        assert figure.axes and figure.axes[0].has_data()
        matplotlib.pyplot.close(figure)
