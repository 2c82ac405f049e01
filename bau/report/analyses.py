"""The analysis figures of the sweeps (config `sweeps` and `analyses`): what one run-config
parameter does to the target, as the paper's Figures 1, 4, 5 and 8.

- :func:`plot_sweep_map`: target mAP (%) against the value, a curve per sweep, a panel per
  parameter (Fig. 1: plain augmentation in- and out-of-distribution; Fig. 5: BAU with and
  without the reliability weighting; Fig. 8: k and λ);
- :func:`plot_sweep_align_uniform`: alignment and uniformity of the target features against
  the value, a curve per sweep (Fig. 4a);
- :func:`plot_sweep_tsne`: t-SNE of the source domains' features, a panel per value (Fig. 4b).

Each point is one seed's measurement; several seeds of a value are drawn as mean ± std
(ddof=1, as the tables). The base method's value of the parameter (its default) is marked.
The workflow describes its inputs with ``--points`` (bau.plan.Plan.analysis_points): per
input file, the sweep points it stands for (a base run two sweeps share stands for two).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bau.errors import BauError
from bau.report.inputs import load_features, load_metrics
from bau.report.labels import parameter_label
from bau.report.plotting import label_colours, new_figure, panel_axes, set_title, styled

log = logging.getLogger(__name__)

Value = bool | int | float | str
MARKERS = "osD^vP*X"


@dataclass(frozen=True)
class SweepMeasure:
    """One seed's measurement at one value of a sweep."""

    series: str  # the sweep's legend label
    parameter: str  # dotted run-config key (augment.prob)
    value: Value
    default: Value  # the base method's value of the parameter
    seed: str
    y: float


@dataclass(frozen=True)
class SweepFeatures:
    """One source domain's features of one value's run (t-SNE)."""

    panel: str
    domain: str
    feats: np.ndarray


def _aggregate(measures: Sequence[SweepMeasure]) -> dict[str, list[tuple[Value, float, float, int]]]:
    """series -> [(value, mean, std, seeds)] in the order of the values."""
    groups: dict[str, dict[Any, list[float]]] = {}
    values: dict[tuple[str, Any], Value] = {}
    for m in measures:
        key = (type(m.value).__name__, m.value)
        groups.setdefault(m.series, {}).setdefault(key, []).append(m.y)
        values[(m.series, key)] = m.value
    out = {}
    for series, by_value in groups.items():
        out[series] = [
            (values[(series, key)], float(np.mean(ys)), float(np.std(ys, ddof=1)) if len(ys) > 1 else 0.0, len(ys))
            for key, ys in by_value.items()
        ]
    return out


def _is_numeric(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _draw_curves(ax, measures: Sequence[SweepMeasure], colour_of: dict, scale: float, ylabel: str) -> None:
    """A curve per series (mean ± std over seeds) against the value; the default marked."""
    parameter = measures[0].parameter
    numeric = all(_is_numeric(m.value) for m in measures)
    categories = list(dict.fromkeys(json.dumps(m.value) for m in measures))
    position = (lambda v: v) if numeric else (lambda v: categories.index(json.dumps(v)))
    seeds = 1
    for index, (series, points) in enumerate(_aggregate(measures).items()):
        if numeric:  # inputs come in any order (a base run shared by two sweeps comes first)
            points = sorted(points, key=lambda p: p[0])
        xs = [position(v) for v, *_ in points]
        ys = [scale * mean for _, mean, _, _ in points]
        errors = [scale * std for _, _, std, _ in points]
        seeds = max(seeds, *(n for *_, n in points))
        ax.errorbar(
            xs,
            ys,
            yerr=errors if any(errors) else None,
            color=colour_of[series],
            marker=MARKERS[index % len(MARKERS)],
            markersize=5,
            capsize=3,
            linewidth=1.4,
            label=series,
        )
    defaults = list(dict.fromkeys(json.dumps(m.default) for m in measures))
    for default in defaults:
        value = json.loads(default)
        if numeric and not _is_numeric(value) or not numeric and default not in categories:
            continue
        ax.axvline(position(value), color="0.35", linestyle=":", linewidth=1.2, zorder=0)
        ax.annotate(
            f"default {parameter_label(parameter, short=True)} = {value}",
            xy=(position(value), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=7,
            color="0.3",
        )
    if not numeric:
        ax.set_xticks(range(len(categories)), [json.loads(c) for c in categories])
    else:
        ax.set_xticks(sorted({m.value for m in measures}))
    ax.set_xlabel(parameter_label(parameter))
    ax.set_ylabel(ylabel)
    if seeds > 1:
        ax.text(
            0.99, 0.01, f"mean ± std over {seeds} seeds", transform=ax.transAxes, ha="right", va="bottom", fontsize=7
        )


def _by_parameter(measures: Sequence[SweepMeasure]) -> dict[str, list[SweepMeasure]]:
    panels: dict[str, list[SweepMeasure]] = {}
    for m in measures:
        panels.setdefault(m.parameter, []).append(m)
    return panels


def _legend(figure: Figure, axes: Sequence) -> None:
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    figure.legend([handles[label] for label in labels], labels, loc="outside lower center", frameon=False, ncols=1)


@styled
def plot_sweep_map(measures: Sequence[SweepMeasure], *, target: str = "target", title: str | None = None) -> Figure:
    """Target mAP (%) against the swept value: a panel per parameter, a curve per sweep."""
    if not measures:
        raise BauError("no sweep measurement to draw")
    panels = _by_parameter(measures)
    figure = new_figure(max(6.4, 4.6 * len(panels)), 4.4)
    axes = panel_axes(figure, len(panels), max_cols=len(panels))
    colour_of = label_colours([m.series for m in measures])
    for ax, members in zip(axes, panels.values()):
        _draw_curves(ax, members, colour_of, 100.0, f"{target} mAP (%)")
    _legend(figure, axes)
    set_title(figure, title or f"{target} mAP against {', '.join(parameter_label(p) for p in panels)}")
    return figure


@styled
def plot_sweep_align_uniform(
    align: Sequence[SweepMeasure], uniform: Sequence[SweepMeasure], *, target: str = "target", title: str | None = None
) -> Figure:
    """Alignment (left) and uniformity (right) of the target features against the value."""
    if not align:
        raise BauError("no sweep measurement to draw")
    figure = new_figure(8.8, 4.2)
    axes = panel_axes(figure, 2, max_cols=2)
    colour_of = label_colours([m.series for m in align])
    _draw_curves(axes[0], align, colour_of, 1.0, r"alignment $L_\mathrm{align}$ (lower = better aligned)")
    _draw_curves(axes[1], uniform, colour_of, 1.0, r"uniformity $L_\mathrm{uniform}$ (lower = more uniform)")
    axes[0].set_title("Alignment")
    axes[1].set_title("Uniformity")
    _legend(figure, axes)
    parameter = parameter_label(align[0].parameter)
    set_title(figure, title or f"Alignment and uniformity of the {target} features against {parameter}")
    return figure


@styled
def plot_sweep_tsne(
    sets: Sequence[SweepFeatures],
    *,
    max_points: int = 3000,
    perplexity: float = 30.0,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """A t-SNE map per panel (value) of its source domains' features, coloured by domain;
    the domains keep their colour across the panels."""
    from bau.report.embedding_plots import draw_tsne, subsample_per_domain, tsne_embedding  # sklearn: slow import

    panels: dict[str, list[SweepFeatures]] = {}
    for s in sets:
        panels.setdefault(s.panel, []).append(s)
    if not panels:
        raise BauError("no features to draw")
    figure = new_figure(4.6 * len(panels) + 1.6, 4.6)
    axes = panel_axes(figure, len(panels), max_cols=len(panels))
    colour_of = label_colours([s.domain for s in sets])
    for ax, (panel, members) in zip(axes, panels.items()):
        domain = np.concatenate([np.full(len(m.feats), m.domain) for m in members])
        rows = subsample_per_domain(domain, max_points, seed=seed)
        embedding = tsne_embedding(np.concatenate([m.feats for m in members])[rows], perplexity=perplexity, seed=seed)
        draw_tsne(ax, embedding, domain[rows], colour_of=colour_of)
        ax.set_title(panel)
    handles = {}
    for ax in axes:
        handles.update({label: h for h, label in zip(*ax.get_legend_handles_labels())})
    figure.legend(
        list(handles.values()),
        list(handles),
        loc="outside right upper",
        markerscale=2,
        title="source domain",
        frameon=False,
    )
    set_title(figure, title or "t-SNE of the source domains' features")
    return figure


# ------------------------------------------------------------------------ command line


def read_points(text: str, inputs: Sequence[str]) -> list[list[dict]]:
    """``--points``: per input, the list of sweep points it stands for."""
    try:
        points = json.loads(text)
    except json.JSONDecodeError as err:
        raise BauError(f"--points is not JSON ({err}); the workflow writes it (bau.plan.Plan.analysis_points)") from err
    if not isinstance(points, list) or len(points) != len(inputs):
        count = len(points) if isinstance(points, list) else "no list"
        raise BauError(f"--points describes {count} input(s) but --inputs has {len(inputs)}; give one entry per input")
    return [p if isinstance(p, list) else [p] for p in points]


def _measure(entry: dict, y: float) -> SweepMeasure:
    return SweepMeasure(entry["series"], entry["parameter"], entry["value"], entry["default"], str(entry["seed"]), y)


def sweep_map(args: argparse.Namespace) -> Figure:
    measures = []
    for path, entries in zip(args.inputs, read_points(args.points, args.inputs)):
        metrics = load_metrics(path, required=[("summary", "mAP", "mean")])
        if metrics is None:
            raise BauError(f"metrics file {path} does not exist; evaluate the sweep's run first")
        measures += [_measure(e, float(metrics["summary"]["mAP"]["mean"])) for e in entries]
    target = next(e.get("target", "target") for es in read_points(args.points, args.inputs) for e in es)
    return plot_sweep_map(measures, target=target, title=args.title or None)


def sweep_align_uniform(args: argparse.Namespace) -> Figure:
    from bau.report.embedding_metrics import target_alignment_uniformity

    align, uniform = [], []
    for path, entries in zip(args.inputs, read_points(args.points, args.inputs)):
        features = load_features(path, required=("feats", "pids", "is_query"))
        a, u = target_alignment_uniformity(features, max_points=args.max_points, seed=args.seed)
        log.info("%s: align %.4f, uniform %.4f", path, a, u)
        align += [_measure(e, a) for e in entries]
        uniform += [_measure(e, u) for e in entries]
    target = next(e.get("target", "target") for es in read_points(args.points, args.inputs) for e in es)
    return plot_sweep_align_uniform(align, uniform, target=target, title=args.title or None)


def sweep_tsne(args: argparse.Namespace) -> Figure:
    sets = []
    for path, entries in zip(args.inputs, read_points(args.points, args.inputs)):
        feats = load_features(path, required=("feats",))["feats"]
        sets += [SweepFeatures(e["panel"], e["domain"], feats) for e in entries]
    return plot_sweep_tsne(
        sets, max_points=args.max_points, perplexity=args.perplexity, seed=args.seed, title=args.title or None
    )


BUILDERS: dict[str, Callable[[argparse.Namespace], Figure]] = {
    "sweep_map": sweep_map,
    "sweep_align_uniform": sweep_align_uniform,
    "sweep_tsne": sweep_tsne,
}

HELP = {
    "sweep_map": ("metrics.json of each sweep point", "target mAP against a swept parameter (paper Figs. 1, 5, 8)"),
    "sweep_align_uniform": (
        "target features npz of each sweep point",
        "alignment and uniformity against a swept parameter (paper Fig. 4a)",
    ),
    "sweep_tsne": ("source features npz of each value's run", "t-SNE of the source domains per value (paper Fig. 4b)"),
}


def add_arguments(sub: argparse.ArgumentParser, kind: str) -> None:
    """The options of ``bau figure sweep_*`` beyond --inputs, --out, --title."""
    sub.add_argument(
        "--points",
        required=True,
        help="JSON: per input, a list of {series, parameter, value, default, seed[, target, panel, domain]} "
        "(the workflow writes it)",
    )
    if kind != "sweep_map":
        sub.add_argument("--seed", type=int, default=0, help="seed of the subsampling / t-SNE")
        sub.add_argument(
            "--max-points",
            type=int,
            default=5000 if kind == "sweep_align_uniform" else 3000,
            help="features used (random subset)",
        )
    if kind == "sweep_tsne":
        sub.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
