"""Figures: each function takes data and returns a matplotlib figure; nothing is computed here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.data.features import TOP_DB, token_seconds


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


def split_accuracies(table: pd.DataFrame, *, chance: float):
    """Accuracy of each classifier (bars) under each split (groups), with its interval (`table`:
    columns classifier, split, accuracy, low, high) and chance as a line."""
    import matplotlib.pyplot as plt

    splits, names = list(dict.fromkeys(table["split"])), list(dict.fromkeys(table["classifier"]))
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for k, (name, colour) in enumerate(zip(names, _genre_colours(len(names)))):
        rows = table[table["classifier"] == name].set_index("split").reindex(splits)
        x = np.arange(len(splits)) + (k - (len(names) - 1) / 2) * width
        ax.bar(x, rows["accuracy"], width, color=colour, label=name,
               yerr=[rows["accuracy"] - rows["low"], rows["high"] - rows["accuracy"]], capsize=3)
    ax.axhline(chance, color="gray", ls=":", label="chance")
    ax.set_xticks(np.arange(len(splits)), splits)
    ax.set(xlabel="split", ylabel="held-out accuracy", ylim=(0, 1), title="Clip statistics under each split")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def confusion_heatmap(matrix: np.ndarray, genres: list[str] | tuple[str, ...], *, normalized: bool = False,
                      title: str = ""):
    """A labelled confusion matrix: counts annotated, or row-normalized shares (rows = true genre)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    matrix = np.asarray(matrix)
    if matrix.shape != (len(genres), len(genres)):
        raise ValueError(f"expected a {len(genres)}x{len(genres)} matrix, got shape {matrix.shape}")
    fig, ax = plt.subplots(figsize=(7.5, 6.2))
    sns.heatmap(matrix, annot=True, fmt=".2f" if normalized else "d", cmap="Blues", square=True,
                xticklabels=list(genres), yticklabels=list(genres), vmin=0, vmax=1 if normalized else None,
                cbar_kws={"label": "share of the true genre" if normalized else "clips"},
                annot_kws={"fontsize": 8}, ax=ax)
    ax.set(xlabel="predicted genre", ylabel="true genre",
           title=title or ("Confusion matrix (row-normalized)" if normalized else "Confusion matrix (clips)"))
    ax.tick_params(axis="x", rotation=45)
    ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig


def per_genre_f1(scores: pd.DataFrame):
    """F1 of each genre as bars (`scores` indexed by genre with an `f1` column), with their mean."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(scores.index.astype(str), scores["f1"], color="tab:blue")
    ax.axhline(scores["f1"].mean(), color="gray", ls="--", label="macro mean")
    ax.set(xlabel="genre", ylabel="F1", ylim=(0, 1.05), title="Out-of-fold F1 per genre")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _genre_colours(n: int):
    import matplotlib.pyplot as plt

    return plt.cm.tab10(np.arange(n) % 10)


def _label_stack(points: np.ndarray, *, tolerance: float = 0.04) -> np.ndarray:
    """For each point, how many earlier points sit on top of it (to stack their labels apart)."""
    span = np.ptp(points, axis=0).max() or 1.0
    close = np.linalg.norm(points[:, None] - points[None], axis=-1) < tolerance * span
    return np.tril(close, -1).sum(1)


def genre_pca_2d(genre_points: np.ndarray, names: list[str] | tuple[str, ...], *,
                 clip_points: np.ndarray | None = None, clip_labels: np.ndarray | None = None,
                 explained: np.ndarray | None = None, title: str = "Genre embeddings, 2D PCA"):
    """Genre embeddings as labelled points on two PCA axes, the clips' projections faint behind."""
    import matplotlib.pyplot as plt

    colours = _genre_colours(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 6))
    if clip_points is not None:
        ax.scatter(clip_points[:, 0], clip_points[:, 1], s=14, alpha=0.35, lw=0,
                   c=colours[clip_labels] if clip_labels is not None else "gray")
    ax.scatter(genre_points[:, 0], genre_points[:, 1], s=120, c=colours, edgecolor="black", zorder=3)
    for (x, y), name, stack in zip(genre_points[:, :2], names, _label_stack(genre_points[:, :2])):
        ax.annotate(name, (x, y), xytext=(-7 if stack % 2 else 7, 5 - 12 * (stack // 2)),
                    textcoords="offset points", ha="right" if stack % 2 else "left", fontsize=10,
                    weight="bold", zorder=4)
    labels = [f"PC{i + 1}" + (f" ({explained[i]:.0%} of variance)" if explained is not None else "")
              for i in range(2)]
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    fig.tight_layout()
    return fig


def mark_clips(fig, points: np.ndarray, names: list[str], labels: np.ndarray, *, right: np.ndarray,
               n_genres: int = 10):
    """Clips placed on a genre plot (`genre_pca_2d`'s figure): a star in their genre's colour,
    edged black where a model put their genre first and red where it did not, each named."""
    ax = fig.axes[0]
    colours = _genre_colours(n_genres)
    ax.scatter(points[:, 0], points[:, 1], marker="*", s=220, c=colours[np.asarray(labels)], zorder=5,
               edgecolor=np.where(np.asarray(right)[:, None], [[0, 0, 0, 1]], [[0.85, 0, 0, 1]]), linewidth=1.2)
    for (x, y), name in zip(points[:, :2], names):
        ax.annotate(name, (x, y), xytext=(6, -10), textcoords="offset points", fontsize=7, zorder=6)
    return fig


def genre_pca_3d(genre_points: np.ndarray, names: list[str] | tuple[str, ...], *,
                 clip_points: np.ndarray | None = None, clip_labels: np.ndarray | None = None,
                 explained: np.ndarray | None = None, title: str = "Genre embeddings, 3D PCA"):
    """Genre embeddings as labelled points on three PCA axes, the clips' projections faint behind."""
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3d projection)

    colours = _genre_colours(len(names))
    fig = plt.figure(figsize=(8, 7))
    ax = fig.add_subplot(projection="3d")
    if clip_points is not None:
        ax.scatter(*clip_points[:, :3].T, s=12, alpha=0.4, lw=0, depthshade=False,
                   c=colours[clip_labels] if clip_labels is not None else "gray")
    ax.scatter(*genre_points[:, :3].T, s=110, c=colours, edgecolor="black", depthshade=False)
    stacks = _label_stack(genre_points[:, :3], tolerance=0.12)
    for (x, y, z), name, stack in zip(genre_points[:, :3], names, stacks):
        text = "\n" * (2 * (stack // 2)) + (f"{name}   " if stack % 2 else f"   {name}")
        ax.text(x, y, z, text, fontsize=9, weight="bold", va="center", ha="right" if stack % 2 else "left")
    labels = [f"PC{i + 1}" + (f" ({explained[i]:.0%})" if explained is not None else "") for i in range(3)]
    ax.set(xlabel=labels[0], ylabel=labels[1], zlabel=labels[2], title=title)
    fig.tight_layout()
    return fig


def distance_heatmap(distances: np.ndarray, names: list[str] | tuple[str, ...], *,
                     title: str = "Distances between genre embeddings"):
    """A genre-by-genre distance matrix with the values written in the cells."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8, 6.5))
    sns.heatmap(pd.DataFrame(distances, index=list(names), columns=list(names)), annot=True, fmt=".2f",
                cmap="viridis", square=True, cbar_kws={"label": "distance"}, ax=ax, annot_kws={"fontsize": 7})
    ax.set(title=title)
    fig.tight_layout()
    return fig


def null_counts_histogram(null_counts: dict[str, np.ndarray], observed: float, *, threshold: float,
                          observed_label: str = "this run"):
    """Null distributions of the number of equations under the threshold, with the observed count."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    values = np.concatenate([np.asarray(v, dtype=float) for v in null_counts.values()] + [[observed]])
    bins = np.histogram_bin_edges(values, bins=min(40, max(5, int(np.ptp(values)) + 1)))
    for (name, counts), colour in zip(null_counts.items(), ("tab:blue", "tab:orange", "tab:green")):
        ax.hist(counts, bins=bins, alpha=0.55, color=colour, label=f"{name} ({len(counts)} draws)")
    ax.axvline(observed, color="red", lw=2, label=f"{observed_label}: {observed:g}")
    ax.set(xlabel=f"equations with error < {threshold:g}", ylabel="draws",
           title="How many equations fall under the threshold by chance")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def genre_token_heatmap(table: pd.DataFrame, *, title: str, label: str, fmt: str = ".2f"):
    """A genre x token-position table (e.g. mean attention, share of peaks) as an annotated heatmap."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8, 0.42 * len(table) + 1.4))
    sns.heatmap(table, annot=True, fmt=fmt, cmap="viridis", annot_kws={"fontsize": 7},
                cbar_kws={"label": label}, ax=ax)
    ax.set(xlabel="token position", ylabel="genre", title=title)
    fig.tight_layout()
    return fig


def attention_example(image: np.ndarray, attention: np.ndarray, config: Config, *, title: str = "",
                      moment: tuple[float, float] | None = None, occlusion: np.ndarray | None = None):
    """A compact log-mel image with its attention weights as bars under it (the peak in orange)
    and, when given, each token's occlusion (drop of the predicted genre's probability) as a line."""
    import matplotlib.pyplot as plt

    seconds = image.shape[1] * config.hop_length / config.sample_rate
    windows = token_seconds(config)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 2.8), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.imshow(image, origin="lower", aspect="auto", cmap="gray", extent=(0, seconds, 0, image.shape[0]),
               vmin=0, vmax=255)
    peak = int(np.argmax(attention))
    top.axvspan(*windows[peak], color="tab:orange", alpha=0.25, lw=0)
    centres = windows.mean(axis=1)
    step = float(np.diff(centres).min()) if len(centres) > 1 else windows[0, 1] - windows[0, 0]
    colours = ["tab:orange" if i == peak else "tab:blue" for i in range(len(windows))]
    bottom.bar(centres, attention, width=0.85 * step, color=colours)
    bottom.axhline(1 / len(windows), color="gray", ls=":", lw=1, label="uniform")
    if occlusion is not None:
        right = bottom.twinx()
        right.plot(centres, occlusion, color="tab:red", marker=".", lw=1)
        right.axhline(0, color="tab:red", ls=":", lw=0.5)
        right.set_ylabel("occlusion", color="tab:red", fontsize=8)
        right.tick_params(axis="y", labelsize=7, colors="tab:red")
        right.grid(False)
    for ax in (top, bottom):
        if moment is not None:
            ax.axvspan(*moment, fill=False, edgecolor="red", lw=1.5)
    top.set(ylabel="mel", yticks=[])
    top.set_title(title + (" (red: planted moment)" if moment is not None else ""), fontsize=9)
    top.grid(False)
    bottom.set(xlabel="time (s)", ylabel="attention", xlim=(0, seconds))
    bottom.set_xticks(centres, [f"{i}\n{c:.0f}s" for i, c in enumerate(centres)], fontsize=7)
    bottom.grid(False, axis="x")
    fig.tight_layout(h_pad=0.2)
    return fig


def as_jpeg(fig, *, dpi: int = 80, quality: int = 70):
    """The figure as a small JPEG image for display (pages with many spectrograms); closes the figure."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image

    if not 1 <= quality <= 95 or dpi < 10:
        raise ValueError(f"Expected quality in 1..95 and dpi >= 10, got quality={quality}, dpi={dpi}.")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="jpeg", dpi=dpi, pil_kwargs={"quality": quality})
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="jpeg")


def retrieval_precision(precision: dict[str, float], *, chance: float, k: int = 5):
    """Genre precision@k of each representation as bars, with chance as a line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = list(precision)
    bars = ax.bar(names, [precision[n] for n in names], color=plt.cm.tab10(np.arange(len(names)) % 10))
    for bar, name in zip(bars, names):
        ax.text(bar.get_x() + bar.get_width() / 2, precision[name] + 0.02, f"{precision[name]:.2f}",
                ha="center", va="bottom", fontsize=9)
    ax.axhline(chance, color="gray", ls=":", label=f"chance ({chance:.2f})")
    ax.set(ylabel=f"genre precision@{k}", ylim=(0, 1.05),
           title=f"Same-genre share of the {k} nearest pieces")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def parameters_by_layer(counts: pd.DataFrame):
    """Trainable parameters of each layer (the table of `network.parameter_counts`, total row dropped)."""
    import matplotlib.pyplot as plt

    table = counts[counts["layer"] != "total"]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh(table["layer"], table["trainable"], color="tab:blue")
    ax.invert_yaxis()
    ax.set(xlabel="trainable parameters", title="Where the model's parameters are")
    fig.tight_layout()
    return fig


def recovery_intervals(table: pd.DataFrame):
    """Each account's recovery of the planted moment with its 95% interval, and chance."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    y = np.arange(len(table))
    ax.errorbar(table["recovery"], y, xerr=[table["recovery"] - table["low"], table["high"] - table["recovery"]],
                fmt="o", color="tab:blue", capsize=4, label="recovery (95% bootstrap interval)")
    ax.scatter(table["chance"], y, marker="|", s=200, color="grey", label="chance")
    ax.set(yticks=y, yticklabels=table.index, xlim=(0, 1), xlabel="share of correctly classified clips",
           title="Top token covers the planted moment")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def agreement_distributions(taus: pd.DataFrame):
    """Per-clip Kendall tau of each pair of accounts, as box plots."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = taus.melt(var_name="pair", value_name="Kendall tau").dropna()
    fig, ax = plt.subplots(figsize=(7, 3))
    sns.boxplot(long, x="Kendall tau", y="pair", ax=ax, color="tab:blue", fill=False)
    ax.axvline(0, color="grey", linestyle=":")
    ax.set(xlim=(-1, 1), ylabel="", title="How far the accounts rank a clip's tokens alike")
    fig.tight_layout()
    return fig


def deletion_curves(curves: pd.DataFrame, *, chance: float):
    """Accuracy as the most important tokens (by each order) are replaced one by one."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name in curves:
        ax.plot(curves.index, curves[name], marker="o", markersize=3, label=name,
                linestyle=":" if name == "random order" else "-")
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(xlabel="tokens replaced by the neutral token (most important first)", ylabel="accuracy",
           ylim=(0, 1), title="Deletion curves: lower sooner = the order found what the model uses")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def dose_response(table: pd.DataFrame, *, label: str):
    """Per setting of a difficulty axis (`table` from `claims.dose_response.dose_response_table`):
    both poolings' accuracy, and attention's recovery of the planted moment against chance, each
    with its 95% interval over seeds (drawn within 0-1, the shares' range: a t interval of few seeds
    can pass it)."""
    import matplotlib.pyplot as plt

    def spread(column: str) -> list:
        low = table[f"{column}_low"].fillna(table[column]).clip(0, 1)
        high = table[f"{column}_high"].fillna(table[column]).clip(0, 1)
        return [table[column] - low, high - table[column]]

    x = table.index.to_numpy(dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for column, name, colour in (("attention", "attention pooling", "tab:blue"),
                                 ("mean", "mean pooling", "tab:orange")):
        left.errorbar(x, table[column], yerr=spread(column), marker="o", capsize=4, label=name, color=colour)
    left.set(xlabel=label, ylabel="held-out accuracy", ylim=(None, 1.02),
             title="Accuracy (mean of seeds, 95% interval)")
    left.legend()
    right.errorbar(x, table["recovery"], yerr=spread("recovery"), marker="o", capsize=4, color="tab:blue",
                   label="attention's peak on the moment")
    right.plot(x, table["chance"], linestyle="--", color="grey", label="a random token")
    right.set(xlabel=label, ylabel="share of correct clips", ylim=(0, 1.02),
              title="Does attention find the planted moment?")
    right.legend()
    for ax in (left, right):
        ax.set_xticks(x)
    fig.tight_layout()
    return fig
