"""Figures: each function takes data and returns a matplotlib figure; nothing is computed here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.config import Config
from paperlib.features import TOP_DB, token_seconds


def class_balance(tracks: pd.DataFrame):
    """Clips per genre, as bars."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    counts = tracks["genre"].value_counts().sort_index()
    fig, ax = plt.subplots(figsize=(8, 3))
    sns.barplot(x=counts.index, y=counts.to_numpy(), ax=ax, color="tab:blue")
    ax.set(xlabel="genre", ylabel="clips", title="Clips per genre")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def spectrogram_with_tokens(image: np.ndarray, config: Config, *, title: str = "",
                            moment: tuple[float, float] | None = None,
                            attention: np.ndarray | None = None):
    """A grayscale log-mel image with its token windows (and a planted moment, or attention)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    seconds = image.shape[1] * config.hop_length / config.sample_rate
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.imshow(image, origin="lower", aspect="auto", cmap="gray", extent=(0, seconds, 0, image.shape[0]),
              vmin=0, vmax=255)
    windows = token_seconds(config)
    colours = plt.cm.tab10(np.arange(len(windows)) % 10)
    for i, (a, b) in enumerate(windows):
        y = image.shape[0] * (1.02 + 0.035 * (i % 2))
        ax.plot([a, b], [y, y], color=colours[i], lw=3, clip_on=False)
        ax.text((a + b) / 2, y + 2, f"{i}", ha="center", va="bottom", fontsize=7, clip_on=False)
        if attention is not None:
            ax.add_patch(Rectangle((a, 0), b - a, image.shape[0], color="tab:orange",
                                   alpha=0.6 * float(attention[i] / attention.max()) * 0.5, lw=0))
    if moment is not None:
        ax.axvspan(*moment, ymin=0, ymax=1, fill=False, edgecolor="red", lw=2,
                   label="planted signature moment")
        ax.legend(loc="lower right", fontsize=8)
    ax.set(xlabel="time (s)", ylabel="mel band")
    ax.set_title(title or f"log-mel (0 = -{TOP_DB:g} dB)", pad=30)
    ax.set_ylim(0, image.shape[0])
    ax.grid(False)
    fig.tight_layout()
    return fig


def learning_curves(histories: list[pd.DataFrame]):
    """Training and validation accuracy per epoch, one line per fold."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharex=True)
    for k, history in enumerate(histories):
        colour = plt.cm.tab10(k % 10)
        for ax, metric in zip(axes, ("accuracy", "loss")):
            ax.plot(history["epoch"], history[metric], color=colour, label=f"fold {k + 1}")
            ax.plot(history["epoch"], history[f"val_{metric}"], color=colour, ls="--", alpha=0.7)
    axes[0].set(xlabel="epoch", ylabel="accuracy", title="Accuracy (solid: fit, dashed: validation)")
    axes[1].set(xlabel="epoch", ylabel="loss", title="Loss")
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def fold_accuracies(table: pd.DataFrame, *, chance: float, baselines: dict[str, float] | None = None):
    """Held-out accuracy of each fold, with the mean, chance and any baselines as lines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(table["fold"].astype(str), table["accuracy"], color="tab:blue")
    ax.axhline(table["accuracy"].mean(), color="tab:blue", ls="--", label="mean over folds")
    ax.axhline(chance, color="gray", ls=":", label="chance")
    for (name, value), colour in zip((baselines or {}).items(), ("tab:red", "tab:green")):
        ax.axhline(value, color=colour, ls="-.", label=name)
    ax.set(xlabel="fold", ylabel="held-out accuracy", ylim=(0, 1), title="Accuracy per fold")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
