"""Line figures: training loss curves (losses.jsonl) and CMC curves (metrics JSON)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bau.report.plotting import grid_shape, label_colours, new_figure, panel_axes, set_title, styled

# losses.jsonl fields, in panel order, with their panel titles.
LOSS_PANELS = {
    "loss": "total loss",
    "ce": "cross-entropy",
    "tri": "triplet",
    "align": "alignment",
    "uniform": "uniformity",
    "domain": "domain uniformity",
}


def smoothing_window(length: int) -> int:
    """Default moving-average window: 1/40 of the run, at least 5 iterations (or the run)."""
    return max(min(5, length), length // 40)


@styled
def plot_loss_curves(
    runs: Sequence[tuple[str, pd.DataFrame]], *, smooth: int | None = None, title: str | None = None
) -> Figure:
    """One panel per loss term (the total first), one colour per run; x = iteration.

    Each run is a (label, frame of :func:`bau.report.inputs.load_losses`). Thin lines are the
    per-iteration values, thick lines their centred moving average over ``smooth`` iterations.
    Terms a run did not use (null in its log) are left out of that run's panel.
    """
    terms = [t for t in LOSS_PANELS if any(t in f.columns and f[t].notna().any() for _, f in runs)]
    rows, ncols = grid_shape(len(terms))
    figure = new_figure(3.4 * ncols, 2.5 * rows + 0.6)
    axes = panel_axes(figure, len(terms))
    windows = []
    colour_of = label_colours([label for label, _ in runs])
    run_colours = [colour_of[label] for label, _ in runs]
    for index, (ax, term) in enumerate(zip(axes, terms)):
        for (label, frame), colour in zip(runs, run_colours):
            if term not in frame.columns or frame[term].isna().all():
                continue
            window = smooth or smoothing_window(len(frame))
            windows.append(window)
            values = frame[term].astype(float)
            ax.plot(frame["step"], values, color=colour, alpha=0.25, linewidth=0.6)
            smoothed = values.rolling(window, center=True, min_periods=1).mean()
            ax.plot(frame["step"], smoothed, color=colour, linewidth=1.6, label=label)
        ax.set_title(LOSS_PANELS[term])
        if index + ncols >= len(terms):  # nothing below it
            ax.set_xlabel("iteration")
    if len(runs) > 1:
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside lower center", ncols=min(len(runs), 4))
    heading = title or (runs[0][0] if len(runs) == 1 else "Training losses")
    note = f"faint: every iteration; bold: moving average over {max(windows)} iterations" if windows else ""
    set_title(figure, f"{heading}\n{note}" if note else heading)
    return figure


def _cmc_band(metrics: Mapping[str, Any], max_rank: int) -> np.ndarray | None:
    """Standard deviation over splits of each rank (percent), or None for a single split."""
    splits = [s["cmc"][:max_rank] for s in metrics.get("splits", []) if "cmc" in s]
    if len(splits) < 2:
        return None
    return 100.0 * np.std(np.asarray(splits, dtype=float), axis=0)


@styled
def plot_cmc(
    curves: Sequence[tuple[str, str, Mapping[str, Any]]], *, max_rank: int = 20, title: str | None = None
) -> Figure:
    """CMC curves, one panel per target with the methods overlaid.

    ``curves`` holds (panel title, method label, metrics JSON) in the order to draw. Several
    splits draw a band of ± one standard deviation over splits around the mean curve.
    """
    panels: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for panel, label, metrics in curves:
        panels.setdefault(panel, []).append((label, metrics))
    rows, ncols = grid_shape(len(panels))
    legend_lines = max(len(e) for e in panels.values())
    figure = new_figure(max(4.8, 4.2 * ncols), rows * (3.0 + 0.2 * legend_lines + 0.5) + 0.4)
    axes = panel_axes(figure, len(panels))
    colour_of = label_colours([label for _, label, _ in curves])
    for ax, (panel, entries) in zip(axes, panels.items()):
        lowest, splits, last_rank = 100.0, 1, 1
        for label, metrics in entries:
            cmc = 100.0 * np.asarray(metrics["cmc"][:max_rank], dtype=float)
            ranks = np.arange(1, len(cmc) + 1)
            last_rank = max(last_rank, len(cmc))
            summary = metrics["summary"]
            legend = f"{label} ({100 * summary['mAP']['mean']:.1f} / {100 * summary['rank1']['mean']:.1f})"
            colour = colour_of[label]
            ax.plot(ranks, cmc, color=colour, marker="o", markersize=2.5, linewidth=1.4, label=legend)
            band = _cmc_band(metrics, max_rank)
            if band is not None:
                splits = max(splits, metrics["num_splits"])
                ax.fill_between(ranks, cmc - band, np.minimum(cmc + band, 100.0), color=colour, alpha=0.15, linewidth=0)
                lowest = min(lowest, float(np.min(cmc - band)))
            lowest = min(lowest, float(cmc.min()))
        ax.set_title(panel)
        ax.set_xlabel("rank")
        ax.set_ylabel("matching rate (%)")
        ax.set_xlim(1, last_rank)
        ax.set_xticks(sorted({1, *range(5, last_rank + 1, 5)}))
        ax.set_ylim(max(0.0, 10.0 * math.floor(lowest / 10.0) - 5.0), 101.0)
        heading = "method (mAP / R-1 in %)"
        if splits > 1:
            heading += f"; band: ±1 std over {splits} splits"
        # below the panel: inside it would hide the curves' start, where methods differ most
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), title=heading, title_fontsize=8, frameon=False)
    set_title(figure, title or "CMC curves")
    return figure
