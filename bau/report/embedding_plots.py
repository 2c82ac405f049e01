"""Figures of the feature space: alignment against uniformity per method (the paper's
Figures 1 and 4) and a t-SNE map of source and target features coloured by domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from bau.errors import BauError
from bau.report.plotting import colours, grid_shape, label_colours, new_figure, panel_axes, set_title, styled


@dataclass(frozen=True)
class AlignUniformPoint:
    panel: str  # the target, one panel each
    label: str  # the method
    align: float
    uniform: float
    note: str | None = None  # target "mAP / R-1" in %, shown in the legend


MARKERS = "osD^vP*Xhp"


@styled
def plot_align_uniform(
    points: Sequence[AlignUniformPoint], *, title: str | None = None, legend_title: str = "method"
) -> Figure:
    """One point per method in the (uniformity, alignment) plane, a panel per target;
    lower-left is better.

    Points are told apart by colour and marker and named in a legend under each panel
    (methods often land close together, where text beside the points would overlap).
    """
    panels: dict[str, list[AlignUniformPoint]] = {}
    for point in points:
        panels.setdefault(point.panel, []).append(point)
    rows, ncols = grid_shape(len(panels))
    entries = max(len(m) for m in panels.values())
    figure = new_figure(max(4.8, 4.4 * ncols), rows * (3.4 + 0.2 * entries + 0.3) + 0.4)
    axes = panel_axes(figure, len(panels))
    colour_of = label_colours([p.label for p in points])
    style_of = {label: (colour, MARKERS[i % len(MARKERS)]) for i, (label, colour) in enumerate(colour_of.items())}
    for ax, (panel, members) in zip(axes, panels.items()):
        for point in members:
            colour, marker = style_of[point.label]
            legend = point.label + (f" ({point.note})" if point.note else "")
            ax.scatter(
                point.uniform,
                point.align,
                s=80,
                marker=marker,
                color=colour,
                edgecolor="black",
                linewidth=0.6,
                zorder=3,
                label=legend,
            )
        ax.margins(x=0.15, y=0.15)
        ax.set_title(panel)
        ax.set_xlabel(r"uniformity $L_\mathrm{uniform}$ (lower = more uniform)")
        ax.set_ylabel(r"alignment $L_\mathrm{align}$ (lower = better aligned)")
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.17),
            frameon=False,
            title=f"{legend_title} (mAP / R-1 in %)" if any(p.note for p in members) else legend_title,
            title_fontsize=8,
        )
    set_title(figure, title or "Alignment and uniformity of the target features")
    return figure


def subsample_per_domain(domains: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices keeping at most ``max_points`` rows, shared equally by the domains
    (a small domain keeps all its rows and leaves its share to the others)."""
    rng = np.random.default_rng(seed)
    names, counts = np.unique(domains, return_counts=True)
    quota = {}
    budget, left = max_points, len(names)
    for name, count in sorted(zip(names, counts), key=lambda nc: nc[1]):
        quota[name] = min(count, budget // left)
        budget -= quota[name]
        left -= 1
    keep = [rng.choice(np.flatnonzero(domains == name), size=quota[name], replace=False) for name in names]
    return np.sort(np.concatenate(keep))


def tsne_embedding(feats: np.ndarray, *, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of ``feats`` (N x D), after PCA to 50 dimensions as is usual for speed."""
    feats = np.asarray(feats, dtype=np.float32)
    if len(feats) < 5:
        raise BauError(f"t-SNE needs at least 5 feature vectors, got {len(feats)}")
    components = min(50, feats.shape[1], len(feats))
    if feats.shape[1] > components:
        feats = PCA(n_components=components, random_state=seed).fit_transform(feats)
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (len(feats) - 1) / 3), init="pca", random_state=seed)
    return tsne.fit_transform(feats)


def draw_tsne(
    ax, embedding: np.ndarray, domains: np.ndarray, *, targets: Sequence[str] = (), colour_of: dict | None = None
) -> None:
    """Scatter of a 2-D embedding on ``ax``, one colour per domain (``colour_of``: fixed
    colours, e.g. shared by the panels of a figure); target domains drawn as triangles."""
    names = list(dict.fromkeys(domains.tolist()))
    colour_of = colour_of or dict(zip(names, colours(len(names))))
    for name in names:
        rows = domains == name
        is_target = name in targets
        ax.scatter(
            embedding[rows, 0],
            embedding[rows, 1],
            s=14 if is_target else 8,
            marker="^" if is_target else "o",
            color=colour_of[name],
            alpha=0.85 if is_target else 0.6,
            linewidth=0,
            label=f"{name} (target)" if is_target else name,
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():  # t-SNE axes have no units
        spine.set_visible(False)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")


@styled
def plot_tsne(
    embedding: np.ndarray, domains: np.ndarray, *, targets: Sequence[str] = (), title: str | None = None
) -> Figure:
    """Scatter of a 2-D embedding, one colour per domain; target domains drawn as triangles."""
    figure = new_figure(6.4, 5.4)
    draw_tsne(figure.subplots(), embedding, domains, targets=targets)
    figure.legend(loc="outside right upper", markerscale=2, title="domain", frameon=False)
    set_title(figure, title or "t-SNE of source and target features")
    return figure
