"""Ranked retrieval lists: a query and its top-k gallery images, green border = same
identity, red = another one; one row per (query, method), so methods can be compared on
the same queries.

Ranking follows the evaluation (docs/reference.md §5): squared Euclidean distance on the
normalised features, gallery images of the query's identity seen by the query's camera
removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from bau.errors import BauError
from bau.report.plotting import new_figure, set_title, styled

CELL = (64, 128)  # width, height of each image before its border
BORDER = 6
QUERY_COLOUR = (40, 90, 220)
CORRECT_COLOUR = (0, 170, 60)
WRONG_COLOUR = (220, 30, 30)


@dataclass(frozen=True)
class RankedRow:
    """One row of the figure: a query and its ranked gallery, by one method."""

    label: str
    query_path: str
    query_pid: int
    gallery_paths: list[str]
    correct: list[bool]


def valid_gallery(features: Mapping[str, np.ndarray], query: int) -> np.ndarray:
    """Gallery rows a query is ranked against: not (same pid and same camera)."""
    gallery = ~np.asarray(features["is_query"], dtype=bool)
    same = (features["pids"] == features["pids"][query]) & (features["camids"] == features["camids"][query])
    return np.flatnonzero(gallery & ~same)


def rank_gallery(features: Mapping[str, np.ndarray], query: int, topk: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The ``topk`` nearest valid gallery rows of query row ``query`` and whether each is correct."""
    rows = valid_gallery(features, query)
    feats = features["feats"]  # only the rows used, in float64 (an exact widening)
    diff = feats[rows].astype(np.float64) - feats[query].astype(np.float64)
    distance = np.einsum("ij,ij->i", diff, diff)
    top = rows[np.argsort(distance, kind="stable")[:topk]]
    return top, features["pids"][top] == features["pids"][query]


def choose_queries(features: Mapping[str, np.ndarray], count: int, seed: int = 0) -> list[int]:
    """``count`` query rows (seeded, in row order) that have at least one valid match."""
    queries = np.flatnonzero(np.asarray(features["is_query"], dtype=bool))
    pids = features["pids"]
    answerable = [q for q in queries if np.any(pids[valid_gallery(features, q)] == pids[q])]
    if not answerable:
        raise BauError("no query has a correct match in the gallery; cannot draw ranked lists")
    chosen = np.random.default_rng(seed).choice(answerable, size=min(count, len(answerable)), replace=False)
    return sorted(int(q) for q in chosen)


def ranked_rows(
    methods: Sequence[tuple[str, Mapping[str, np.ndarray]]], query_paths: Sequence[str], topk: int = 10
) -> list[RankedRow]:
    """For each query (by image path) and each (label, features) method, its ranked row."""
    rows = []
    for query_path in query_paths:
        for label, features in methods:
            matches = np.flatnonzero(features["paths"] == query_path)
            if len(matches) == 0:
                raise BauError(
                    f"query image {query_path} is not among the features of '{label}'; compare methods on the same target"
                )
            query = int(matches[0])
            top, correct = rank_gallery(features, query, topk)
            rows.append(
                RankedRow(
                    label,
                    str(query_path),
                    int(features["pids"][query]),
                    [str(p) for p in features["paths"][top]],
                    correct.tolist(),
                )
            )
    return rows


def resolve_image(path: str, data_root: str | Path | None) -> Path:
    """An image path of a features file as a file on disk (relative ones under ``data_root``)."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if data_root is not None and (Path(data_root) / path).is_file():
        return Path(data_root) / path
    hint = (
        "pass --data-root with the data root the features were extracted from"
        if data_root is None
        else f"not under --data-root {data_root} either"
    )
    raise BauError(f"image {path} of the features file does not exist; {hint}")


def framed_image(path: Path, colour: tuple[int, int, int]) -> np.ndarray:
    with Image.open(path) as image:
        cell = image.convert("RGB").resize(CELL, Image.Resampling.BILINEAR)
    return np.asarray(ImageOps.expand(cell, border=BORDER, fill=colour))


@styled
def plot_retrieval(
    rows: Sequence[RankedRow], *, data_root: str | Path | None = None, title: str | None = None
) -> Figure:
    """Grid: per row the query (blue) and its ranked gallery (green correct, red wrong)."""
    topk = max(len(r.gallery_paths) for r in rows)
    show_labels = len({r.label for r in rows}) > 1
    figure = new_figure(0.72 * (topk + 1) + (1.0 if show_labels else 0.3), 1.45 * len(rows) + 0.7)
    axes = figure.subplots(len(rows), topk + 1, squeeze=False)
    for i, row in enumerate(rows):
        images = [framed_image(resolve_image(row.query_path, data_root), QUERY_COLOUR)]
        images += [
            framed_image(resolve_image(path, data_root), CORRECT_COLOUR if ok else WRONG_COLOUR)
            for path, ok in zip(row.gallery_paths, row.correct)
        ]
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(images):
                ax.imshow(images[j])
            if i == 0:
                ax.set_title("query" if j == 0 else str(j), fontsize=9)
        axes[i][0].set_xlabel(f"ID {row.query_pid}", fontsize=8, labelpad=2)
        if show_labels:
            axes[i][0].set_ylabel(row.label, fontsize=9, rotation=0, ha="right", va="center")
    set_title(figure, title or f"Top-{topk} retrieved gallery images (green: same identity, red: another)")
    return figure
