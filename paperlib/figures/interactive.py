"""Figures to explore (plotly): each function takes data and returns an `Interactive` figure.

An `Interactive` shows in JupyterLab through plotly's own renderer (its MIME type) and in the book
as a `<div>` drawn by the `Plotly` object that the book ships once (paperlib.publish.book copies
plotly.js into the book's static files); no figure loads anything from a CDN. Each interactive
figure has a static matplotlib counterpart beside it in the notebook (figures.plots).
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

PLOTLY_MIME = "application/vnd.plotly.v1+json"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")  # matplotlib's tab10, as in the static figures


class Interactive:
    """A plotly figure with a stable element id (`name`), shown without loading plotly.js."""

    def __init__(self, figure, name: str):
        if not re.fullmatch(r"[A-Za-z][\w-]*", name):
            raise ValueError(f"An interactive figure's name must be a word like 'pca-3d', got {name!r}.")
        self.figure, self.name = figure, name

    def html(self) -> str:
        return self.figure.to_html(full_html=False, include_plotlyjs=False, div_id=self.name,
                                   config={"displaylogo": False, "responsive": True})

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {PLOTLY_MIME: self.figure.to_plotly_json(), "text/html": self.html(),
                "text/plain": f"<interactive figure {self.name}>"}


def _check_points(points: np.ndarray, dims: int) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != dims:
        raise ValueError(f"Expected points of shape (n, {dims}), got {points.shape}.")
    return points


def embeddings_3d(genre_points: np.ndarray, names: Sequence[str], *, clip_points: np.ndarray,
                  clip_labels: np.ndarray, clip_ids: Sequence[str], explained: np.ndarray,
                  name: str = "pca-3d") -> Interactive:
    """Genre embeddings (large, labelled) and clip signatures (small, hover: clip id) in one 3D
    PCA space, coloured by genre; drag to turn, scroll to zoom, click a legend entry to hide."""
    import plotly.graph_objects as go

    genre_points, clip_points = _check_points(genre_points, 3), _check_points(clip_points, 3)
    clip_labels = np.asarray(clip_labels, dtype=int)
    if len(clip_labels) != len(clip_points) or len(clip_ids) != len(clip_points):
        raise ValueError(f"Expected one label and one id per clip point ({len(clip_points)}), got "
                         f"{len(clip_labels)} labels and {len(clip_ids)} ids.")
    figure = go.Figure()
    for g, genre in enumerate(names):
        colour = COLOURS[g % len(COLOURS)]
        mine = clip_labels == g
        figure.add_scatter3d(
            x=clip_points[mine, 0], y=clip_points[mine, 1], z=clip_points[mine, 2], mode="markers",
            marker={"size": 2.5, "color": colour, "opacity": 0.45}, name=genre, legendgroup=genre,
            text=[str(c) for c, m in zip(clip_ids, mine) if m], hovertemplate="%{text}<extra></extra>")
        figure.add_scatter3d(
            x=genre_points[g:g + 1, 0], y=genre_points[g:g + 1, 1], z=genre_points[g:g + 1, 2],
            mode="markers+text", text=[genre], textposition="top center", legendgroup=genre,
            marker={"size": 9, "color": colour, "line": {"width": 1, "color": "black"}},
            showlegend=False, hovertemplate=f"{genre} (genre embedding)<extra></extra>")
    axes = {f"{axis}axis_title": f"PC{k + 1} ({explained[k]:.0%})"
            for k, axis in enumerate(("x", "y", "z"))}
    figure.update_layout(scene=axes, height=560, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                         title="Genre embeddings and clip signatures, 3D PCA (drag to turn)",
                         legend={"itemsizing": "constant"})
    return Interactive(figure, name)


def importance_over_time(windows: np.ndarray, attention: np.ndarray, occlusion: np.ndarray, *,
                         title: str, name: str, moment: tuple[float, float] | None = None) -> Interactive:
    """One clip's attention weights (bars) and occlusion (line) at each token's time window."""
    from plotly.subplots import make_subplots

    windows = _check_points(windows, 2)
    attention, occlusion = np.asarray(attention, float), np.asarray(occlusion, float)
    if attention.shape != (len(windows),) or occlusion.shape != (len(windows),):
        raise ValueError(f"Expected one attention weight and one occlusion drop per token "
                         f"({len(windows)}), got {attention.shape} and {occlusion.shape}.")
    middle = windows.mean(axis=1)
    labels = [f"token {i}: {a:.1f}–{b:.1f} s" for i, (a, b) in enumerate(windows)]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=middle, y=attention, width=(windows[:, 1] - windows[:, 0]) * 0.9, name="attention weight",
                   marker_color="#1f77b4", opacity=0.6, text=labels,
                   hovertemplate="%{text}<br>attention %{y:.3f}<extra></extra>")
    figure.add_scatter(x=middle, y=occlusion, mode="lines+markers", name="occlusion (probability drop)",
                       line={"color": "#d62728"}, text=labels,
                       hovertemplate="%{text}<br>occlusion %{y:.3f}<extra></extra>", secondary_y=True)
    if moment is not None:
        figure.add_vrect(x0=moment[0], x1=moment[1], fillcolor="#2ca02c", opacity=0.15, line_width=0,
                         annotation_text="planted moment", annotation_position="top left")
    figure.update_layout(title=title, height=300, margin={"l": 50, "r": 50, "t": 50, "b": 40},
                         legend={"orientation": "h", "y": -0.25}, bargap=0.05)
    figure.update_xaxes(title="time (s)")
    figure.update_yaxes(title="attention", secondary_y=False, rangemode="tozero")
    figure.update_yaxes(title="occlusion", secondary_y=True)
    return Interactive(figure, name)
