"""Shared figure plumbing: figures without pyplot (no global state, no display needed), a
common look, and atomic PNG + PDF output.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec

import matplotlib
from matplotlib.figure import Figure

from bau.errors import BauError
from bau.io import atomic_open
from bau.report.labels import METHOD_LABELS

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
DPI = 150

_P = ParamSpec("_P")


def styled(builder: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Build the figure under :data:`STYLE` (rc settings apply when artists are created)."""

    @functools.wraps(builder)
    def build(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return builder(*args, **kwargs)

    return build


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout (no overlapping labels)."""
    return Figure(figsize=(width, height), layout="constrained")


def colours(count: int) -> list:
    """``count`` distinguishable colours (tab10, then tab20 for more)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(count)]


def label_colours(labels: Sequence[str]) -> dict[str, tuple]:
    """A colour per label. A method's display label keeps one colour across figures (its
    place in :data:`bau.report.labels.METHOD_LABELS`) unless another label of the same
    figure already has it; other labels take the free colours in order."""
    labels = list(dict.fromkeys(labels))
    palette = colours(max(10, len(labels)))
    known = list(METHOD_LABELS.values())
    chosen: dict[str, tuple] = {}
    for label in labels:
        if label in known and palette[known.index(label) % len(palette)] not in chosen.values():
            chosen[label] = palette[known.index(label) % len(palette)]
    free = [c for c in palette if c not in chosen.values()]
    for label in labels:
        if label not in chosen:
            chosen[label] = free.pop(0)
    return {label: chosen[label] for label in labels}


def grid_shape(panels: int, max_cols: int = 3) -> tuple[int, int]:
    """``(rows, columns)`` of ``panels`` panels in rows of at most ``max_cols``."""
    ncols = min(max_cols, panels)
    return math.ceil(panels / ncols), ncols


def panel_axes(figure: Figure, panels: int, max_cols: int = 3) -> list:
    """``panels`` axes laid out by :func:`grid_shape`; the unused cells are removed."""
    axes = list(figure.subplots(*grid_shape(panels, max_cols), squeeze=False).flat)
    for ax in axes[panels:]:
        figure.delaxes(ax)
    return axes[:panels]


def png_path(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise BauError(f"--out {out} must end in .png (the .pdf is written beside it)")
    return out


def save_figure(figure: Figure, out: str | Path) -> list[Path]:
    """Write ``out`` (.png) and the same figure as .pdf beside it, each atomically."""
    png = png_path(out)
    written = []
    for path in (png, png.with_suffix(".pdf")):
        with atomic_open(path, "wb") as handle:
            figure.savefig(handle, format=path.suffix[1:], dpi=DPI)
        written.append(path)
    return written


def set_title(figure: Figure, title: str) -> None:
    """The figure's title, each line wrapped to the figure's width (about 11 characters per
    inch at :data:`STYLE`'s size), so that a long table title is not cut at the edges."""
    width = int(11 * figure.get_figwidth())
    figure.suptitle("\n".join(textwrap.fill(line, width=width) for line in title.split("\n")))
