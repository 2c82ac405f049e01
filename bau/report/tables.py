"""`bau table NAME`: the paper's result tables from the metrics files, with the reported numbers.

A table is described by the workflow configuration's ``tables.NAME`` entry ({protocol,
methods, kind, title}); its columns are the protocol's targets (``protocols.<protocol>.runs``),
its rows the methods. A ``pairs`` table (the paper's Table 7) has a row per entry of ``rows``
(a backbone or identity loss) and, per target, the columns of its two methods side by side
(``pair_labels``: Baseline, BAU). :func:`build_table` is a pure function of the loaded metrics, so it is
tested without files; :func:`main` loads each evaluation's metrics file (bau.layout)
and writes NAME.md, NAME.csv and NAME.tex (bau.report.table_formats).

Cells are percentages with one decimal, an em dash where a number is missing. Each seed of the
protocol (bau.config.protocol_seeds) is its own run and evaluation: with several seeds a cell
is ``mean ± std`` over the seeds (std with ddof=1) of each seed's value, where a target with
several splits (Protocol-1) gives each seed the mean over its splits, and ``[s]`` after the
cell is the std over the splits averaged over the seeds; with one seed a cell is the value,
``mean ± std`` over the splits where a target has several. A table that trains a
``baseline`` also gets paired rows (``BAU − Baseline (paired)``): per seed the method's value
minus the baseline's, mean ± std over the seeds, and on how many seeds the method is higher;
a mean difference within one std of the per-seed differences is marked ``≈`` (not told apart
from noise), and ``?`` marks a difference of one seed (no std to judge it by). On real data a method the paper reports
gets three rows: reported, reproduced and their difference (reproduced − reported); the
published methods named in ``tables.NAME.references`` get a reported row each (reference
rows, as the paper's Tables 3 and 4 compare against them); a Source column says where each
reported row was read (config/reported.csv). On synthetic data no reported number is shown,
and the caption says why.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bau.config import (
    deep_merge,
    evaluated_as,
    fill_defaults,
    load_workflow_config,
    protocol_seeds,
    trained_runs,
)
from bau.errors import BauError, ConfigError
from bau.io import read_json
from bau.layout import EvalKey, Layout, RunKey
from bau.report import labels
from bau.report.inputs import load_metrics
from bau.report.labels import METRIC_LABELS, SWITCH_LABELS
from bau.report.reported import AVERAGE_TARGET, load_reported
from bau.report.table_formats import SOURCE_COLUMN, Table, write_table
from bau.training.runlog import STEEP_FALL, TRAINED_FRACTION, WATCHED
from bau.training.terms import effective_switches

log = logging.getLogger(__name__)

MISSING = "—"
AVERAGE = "Average"
CHECK, CROSS = "✓", "✗"
NOISE, ONE_SEED = "≈", "?"
BASELINE = "baseline"  # the method the paired rows compare against
METRICS = tuple(METRIC_LABELS)  # ("mAP", "rank1")

# (target, method) -> the metrics JSON of each seed, in the protocol's seed order (None: not
# run yet); a single metrics JSON (or None) stands for one seed.
MetricsByCell = Mapping[tuple[str, str], Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None]


@dataclass(frozen=True)
class TargetColumn:
    """One target of the table: its dataset name and the label of its column group."""

    target: str
    label: str


@dataclass(frozen=True)
class TableSpec:
    """What a table shows; built from the workflow configuration by :func:`table_spec`."""

    name: str
    protocol: str
    methods: list[str]
    columns: list[TargetColumn]
    kind: str = "protocol"
    title: str | None = None
    sources: str | None = None  # shared training sources (Protocol-1), for the caption
    # Ablation tables: method -> {switch key (SWITCH_LABELS): on}, only switches that differ.
    switches: dict[str, dict[str, bool]] = field(default_factory=dict)
    # The paper's tables/figures this table reproduces (reported.csv's paper_table); None: all.
    paper: list[str] | None = None
    # Published methods shown as reported rows only (reported.csv methods, e.g. acl).
    references: list[str] = field(default_factory=list)
    # The protocol's training seeds (bau.config.protocol_seeds), in order.
    seeds: list[int] = field(default_factory=lambda: [1])
    # Pairs tables: row label -> (method without BAU, method with BAU), and their column labels.
    rows: dict[str, tuple[str, str]] = field(default_factory=dict)
    pair_labels: tuple[str, str] = ("Baseline", "BAU")


@dataclass(frozen=True)
class _Cell:
    mean: float | None = None  # percent
    # percent: over the seeds with several seeds, else over the splits (None: one split)
    std: float | None = None
    per_seed: tuple[float, ...] = ()  # each seed's value, percent
    split_std: float | None = None  # several seeds: the mean over seeds of the std over splits


# ------------------------------------------------------------------------ formatting


def format_value(mean: float | None, std: float | None = None) -> str:
    """``42.8``, ``42.8 ± 1.3``, or the em dash for a missing value (percentages)."""
    if mean is None or math.isnan(mean):
        return MISSING
    if std is None:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {std:.1f}"


def format_difference(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1f}"


def _format_cell(cell: _Cell) -> str:
    text = format_value(cell.mean, cell.std)
    return text if cell.split_std is None or text == MISSING else f"{text} [{cell.split_std:.1f}]"


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample std (ddof=1) of ``values``; the std is None for a single value."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else None


def format_paired(differences: Sequence[float]) -> str:
    """A paired comparison from the per-seed differences (percentage points):
    ``+1.2 ± 0.8 (3/3)`` (mean ± std, seeds where the difference is positive), then ``≈``
    where |mean| is within one std (noise), ``?`` for one seed (no std to judge by)."""
    if not differences:
        return MISSING
    mean, std = mean_std(differences)
    wins = f"({sum(d > 0 for d in differences)}/{len(differences)})"
    if std is None:
        return f"{mean:+.1f} {wins} {ONE_SEED}"
    return f"{mean:+.1f} ± {std:.1f} {wins}" + (f" {NOISE}" if abs(mean) <= std else "")


# ------------------------------------------------------------------------ building


def _per_seed(metrics: Any) -> list[Mapping[str, Any] | None]:
    """The metrics of each seed of a cell (a single metrics JSON or None is one seed)."""
    return [metrics] if metrics is None or isinstance(metrics, Mapping) else list(metrics)


def _cell_of(metrics: Any, metric: str) -> _Cell:
    seeds = _per_seed(metrics)
    # A mean over some of the seeds would not be the mean over the seeds: any gap empties it.
    if not seeds or any(m is None for m in seeds):
        return _Cell()
    values = tuple(100.0 * m["summary"][metric]["mean"] for m in seeds)
    split_stds = [100.0 * m["summary"][metric]["std"] for m in seeds if m.get("num_splits", 1) > 1]
    if len(seeds) == 1:
        return _Cell(values[0], split_stds[0] if split_stds else None, values)
    mean, std = mean_std(values)
    return _Cell(mean, std, values, statistics.fmean(split_stds) if split_stds else None)


def _average(cells: Sequence[_Cell]) -> _Cell:
    # A partial average would not be comparable with the paper's, so any gap leaves it empty.
    if not cells or any(c.mean is None for c in cells):
        return _Cell()
    mean = sum(c.mean for c in cells) / len(cells)
    if len({len(c.per_seed) for c in cells}) != 1:
        return _Cell(mean)
    # Each seed's average over the targets; the std of the average is over these, not a mean
    # of the targets' stds.
    per_seed = tuple(statistics.fmean(values) for values in zip(*(c.per_seed for c in cells)))
    return _Cell(*mean_std(per_seed), per_seed) if len(per_seed) > 1 else _Cell(mean, per_seed=per_seed)


def _has_average(spec: TableSpec) -> bool:
    return len(spec.columns) > 1


def _row_cells(
    spec: TableSpec,
    value: Callable[[str, str], _Cell],
    printed_average: Callable[[str], float | None] | None = None,
) -> dict[tuple[str, str], _Cell]:
    """Cells of one row; ``value(target, metric) -> _Cell`` gives each target's cell. The
    average is ``printed_average(metric)`` where that is known (the paper's own), else the
    mean over the targets."""
    cells: dict[tuple[str, str], _Cell] = {}
    for metric in METRICS:
        per_target = [value(col.target, metric) for col in spec.columns]
        for col, cell in zip(spec.columns, per_target):
            cells[(col.label, METRIC_LABELS[metric])] = cell
        if _has_average(spec):
            printed = printed_average(metric) if printed_average is not None else None
            cells[(AVERAGE, METRIC_LABELS[metric])] = _average(per_target) if printed is None else _Cell(printed)
    return cells


def _column_order(spec: TableSpec) -> list[tuple[str, str]]:
    groups = [col.label for col in spec.columns] + ([AVERAGE] if _has_average(spec) else [])
    return [(group, METRIC_LABELS[m]) for group in groups for m in METRICS]


def _switch_columns(spec: TableSpec) -> list[str]:
    keys = {key for switches in spec.switches.values() for key in switches}
    return [key for key in SWITCH_LABELS if key in keys]


def _switch_marks(spec: TableSpec, method: str) -> dict[tuple[str, str], str]:
    switches = spec.switches.get(method)
    return {
        ("", SWITCH_LABELS[key]): MISSING if switches is None else (CHECK if switches.get(key) else CROSS)
        for key in _switch_columns(spec)
    }


def _data_kind(metrics: MetricsByCell, synthetic_default: bool | None) -> bool | None:
    flags = {bool(m["synthetic"]) for v in metrics.values() for m in _per_seed(v) if m is not None}
    if len(flags) > 1:
        synthetic = sorted(
            {
                f"{t}/{m}"
                for (t, m), v in metrics.items()
                for one in _per_seed(v)
                if one is not None and one["synthetic"]
            }
        )
        raise BauError(
            "the table mixes metrics of synthetic and real data (synthetic: "
            + ", ".join(synthetic)
            + "); rerun the evaluations of one kind of data"
        )
    return flags.pop() if flags else synthetic_default


def _selection_text(metrics: MetricsByCell, default: str | None) -> str:
    rules = sorted({m["selection"] for v in metrics.values() for m in _per_seed(v) if m is not None})
    if not rules:
        return labels.selection_text(default) if default else "not known yet (no metrics)"
    if len(rules) == 1:
        return labels.selection_text(rules[0])
    return "mixed: " + "; ".join(labels.selection_text(r) for r in rules)


@dataclass(frozen=True)
class _Paper:
    """The reported numbers a table may show: (target or ``average``, method, metric) -> value,
    and per method the sources of its numbers and the paper's tables they come from."""

    value: dict[tuple[str, str, str], float] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, list[str]] = field(default_factory=dict)


def _paper_numbers(spec: TableSpec, reported: pd.DataFrame | None) -> _Paper:
    if reported is None:
        return _Paper()
    targets = [col.target for col in spec.columns] + ([AVERAGE_TARGET] if _has_average(spec) else [])
    keep = (
        (reported["protocol"] == spec.protocol)
        & reported["target"].isin(targets)
        & reported["method"].isin([*spec.methods, *spec.references])
        & reported["value"].notna()
    )
    if spec.paper is not None:
        keep &= reported["paper_table"].isin(spec.paper)
    paper = _Paper()
    for row in reported[keep].itertuples(index=False):
        # load_reported checked that the copies of a cell in several tables agree.
        paper.value[(row.target, row.method, row.metric)] = float(row.value)
        for seen, item in ((paper.sources, row.source), (paper.tables, row.paper_table)):
            if item not in seen.setdefault(row.method, []):
                seen[row.method].append(item)
    for method, sources in paper.sources.items():
        # A cell's source may extend its row's ("...; CMDG prints 88.1"): name the row's once.
        paper.sources[method] = [s for s in sources if not any(o != s and o.startswith(s) for o in sources)]
    return paper


def _reported_cells(spec: TableSpec, method: str, paper: _Paper) -> dict[tuple[str, str], _Cell] | None:
    """The paper's row of ``method`` in this table; None when it shows none of its numbers."""
    cells = _row_cells(
        spec,
        lambda target, metric: _Cell(paper.value.get((target, method, metric))),
        lambda metric: paper.value.get((AVERAGE_TARGET, method, metric)),
    )
    return cells if any(c.mean is not None for c in cells.values()) else None


def _default_title(spec: TableSpec) -> str:
    protocol = labels.protocol_label(spec.protocol)
    title = f"Ablation ({protocol})" if spec.kind == "ablation" else protocol
    return f"{title} (paper {' and '.join(spec.paper)})" if spec.paper else title


Row = dict[tuple[str, str], str]


def _method_rows(spec: TableSpec, method: str, metrics: MetricsByCell, paper: _Paper) -> dict[str, Row]:
    """The row of ``method``, or its reported / reproduced / difference rows when the paper
    reports at least one of its numbers in this table."""
    label = labels.method_label(method)
    marks = _switch_marks(spec, method)
    ours = _row_cells(spec, lambda target, metric: _cell_of(metrics[(target, method)], metric))
    theirs = _reported_cells(spec, method, paper)
    if theirs is None:
        return {label: {**marks, **{k: _format_cell(c) for k, c in ours.items()}}}
    difference = {
        k: format_difference(None if c.mean is None or theirs[k].mean is None else c.mean - theirs[k].mean)
        for k, c in ours.items()
    }
    return {
        f"{label} (reported)": {
            **marks,
            **{k: format_value(c.mean) for k, c in theirs.items()},
            SOURCE_COLUMN: "; ".join(paper.sources[method]),
        },
        f"{label} (reproduced)": {**marks, **{k: _format_cell(c) for k, c in ours.items()}},
        f"{label} (Δ)": {**marks, **difference},
    }


def _paired_rows(spec: TableSpec, metrics: MetricsByCell) -> dict[str, Row]:
    """Per method other than the baseline: its per-seed difference to the baseline (same seed)
    in each cell, as :func:`format_paired`. None without a baseline in the table."""
    if BASELINE not in spec.methods:
        return {}
    blank = {("", SWITCH_LABELS[key]): "" for key in _switch_columns(spec)}

    def cells(method: str) -> dict[tuple[str, str], _Cell]:
        return _row_cells(spec, lambda target, metric: _cell_of(metrics[(target, method)], metric))

    baseline = cells(BASELINE)
    rows = {}
    for method in spec.methods:
        if method == BASELINE:
            continue
        row = dict(blank)
        for key, cell in cells(method).items():
            theirs = baseline[key]
            complete = cell.per_seed and len(cell.per_seed) == len(theirs.per_seed) and cell.mean is not None
            differences = [a - b for a, b in zip(cell.per_seed, theirs.per_seed)] if complete else []
            row[key] = format_paired(differences if theirs.mean is not None else [])
        rows[f"{labels.method_label(method)} − {labels.method_label(BASELINE)} (paired)"] = row
    return rows


def _reference_rows(spec: TableSpec, paper: _Paper) -> dict[str, Row]:
    """A reported row per published method of ``spec.references`` with numbers here."""
    rows = {}
    for method in spec.references:
        theirs = _reported_cells(spec, method, paper)
        if theirs is not None:
            rows[f"{labels.method_label(method)} (reported)"] = {
                **_switch_marks(spec, method),
                **{k: format_value(c.mean) for k, c in theirs.items()},
                SOURCE_COLUMN: "; ".join(paper.sources[method]),
            }
    return rows


def _pair_key(spec: TableSpec, index: int, key: tuple[str, str]) -> tuple[str, str]:
    """A cell key of one method's row -> the key of its column in a pairs table."""
    group, metric = key
    return (group, f"{spec.pair_labels[index]} {metric}")


def _pair_column_order(spec: TableSpec) -> list[tuple[str, str]]:
    """Per target group: the first method's mAP and R-1, then the second's."""
    groups = dict.fromkeys(group for group, _ in _column_order(spec))
    return [(group, f"{spec.pair_labels[i]} {METRIC_LABELS[m]}") for group in groups for i in range(2) for m in METRICS]


def _pair_rows(spec: TableSpec, label: str, metrics: MetricsByCell, paper: _Paper) -> dict[str, Row]:
    """The row of a pair of methods (its two methods' cells side by side), or its reported /
    reproduced / difference rows when the paper reports a number of either method here."""
    ours: dict[tuple[str, str], _Cell] = {}
    theirs: dict[tuple[str, str], _Cell] = {}
    reported = False
    for index, method in enumerate(spec.rows[label]):
        cells = _row_cells(spec, lambda target, metric, m=method: _cell_of(metrics[(target, m)], metric))
        ours.update({_pair_key(spec, index, k): c for k, c in cells.items()})
        printed = _reported_cells(spec, method, paper)
        reported |= printed is not None
        theirs.update({_pair_key(spec, index, k): c for k, c in (printed or {k: _Cell() for k in cells}).items()})
    if not reported:
        return {label: {k: _format_cell(c) for k, c in ours.items()}}
    sources = [s for method in spec.rows[label] for s in paper.sources.get(method, [])]
    difference = {
        k: format_difference(None if c.mean is None or theirs[k].mean is None else c.mean - theirs[k].mean)
        for k, c in ours.items()
    }
    return {
        f"{label} (reported)": {
            **{k: format_value(c.mean) for k, c in theirs.items()},
            SOURCE_COLUMN: "; ".join(dict.fromkeys(sources)),
        },
        f"{label} (reproduced)": {k: _format_cell(c) for k, c in ours.items()},
        f"{label} (Δ)": difference,
    }


def build_table(
    spec: TableSpec,
    metrics: MetricsByCell,
    reported: pd.DataFrame | None = None,
    *,
    synthetic_default: bool | None = None,
    selection_default: str | None = None,
    flagged: Mapping[str, Sequence[str]] | None = None,
) -> Table:
    """The table of ``spec`` from ``metrics[(target, method)]`` (missing keys or None: not run).

    ``reported`` is the frame of :func:`bau.report.reported.load_reported`; its numbers are
    shown only when the metrics are of real data (their ``synthetic`` field, or
    ``synthetic_default`` when no metrics exist yet). The caption states the metrics'
    model-selection rule (``selection_default`` when there are none) and names the runs of
    ``flagged`` (:func:`flagged_runs`: run/method/seed<seed> that ended while their loss was
    still falling steeply, or barely trained).
    """
    metrics = {(col.target, m): metrics.get((col.target, m)) for col in spec.columns for m in spec.methods}
    synthetic = _data_kind(metrics, synthetic_default)
    paper = _paper_numbers(spec, reported if synthetic is False else None)

    rows = _reference_rows(spec, paper)
    paired = {}
    if spec.kind == "pairs":
        for label in spec.rows:
            rows.update(_pair_rows(spec, label, metrics, paper))
        columns = _pair_column_order(spec)
    else:
        for method in spec.methods:
            rows.update(_method_rows(spec, method, metrics, paper))
        paired = _paired_rows(spec, metrics)
        rows.update(paired)
        columns = [("", SWITCH_LABELS[key]) for key in _switch_columns(spec)] + _column_order(spec)
    shown = [row for row in rows.values() if SOURCE_COLUMN in row]
    if shown:
        columns.append(SOURCE_COLUMN)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=pd.MultiIndex.from_tuples(columns))
    if shown:
        frame[SOURCE_COLUMN] = frame[SOURCE_COLUMN].fillna("")  # rows of ours have no source
    frame.index.name = "Variant" if spec.kind == "pairs" else "Method"
    title = spec.title or _default_title(spec)
    caption = _caption(spec, title, metrics, synthetic, reported is not None, paper, selection_default, bool(paired))
    flagged = flagged or {}
    if flagged.get("still_falling"):
        caption += (
            f" Runs that ended while their loss was still falling steeply (last-epoch mean {WATCHED.upper()} below "
            f"{STEEP_FALL} x the previous epoch's; longer training would change their numbers): "
            + ", ".join(flagged["still_falling"])
            + "."
        )
    if flagged.get("undertrained"):
        caption += (
            f" Runs that barely trained (last-epoch mean {WATCHED.upper()} above {TRAINED_FRACTION} x the first "
            "epoch's): " + ", ".join(flagged["undertrained"]) + "."
        )
    return Table(spec.name, title, caption, frame)


def _shown(spec: TableSpec, paper: _Paper) -> tuple[list[str], list[str]]:
    """(methods of ``spec`` with reported rows, reference methods with rows), in table order."""
    return (
        [m for m in spec.methods if _reported_cells(spec, m, paper) is not None],
        [m for m in spec.references if _reported_cells(spec, m, paper) is not None],
    )


def _caption(
    spec: TableSpec,
    title: str,
    metrics: MetricsByCell,
    synthetic: bool | None,
    has_reported: bool,
    paper: _Paper,
    selection_default: str | None,
    paired: bool = False,
) -> str:
    splits = {m.get("num_splits", 1) for v in metrics.values() for m in _per_seed(v) if m is not None}
    parts = [f"{title}."]
    if spec.sources:
        parts.append(f"Trained on {spec.sources}.")
    what = "mAP and Rank-1 (R-1) in % on each target's test set"
    seeds = ", ".join(map(str, spec.seeds))
    several = len(splits) == 1 and min(splits) > 1
    if len(spec.seeds) == 1:
        what += f", one seed (seed {seeds})"
        if several:
            what += f"; mean ± std over the {min(splits)} splits of each target"
        elif max(splits, default=1) > 1:
            what += "; mean ± std over the splits where a target has several"
    else:
        what += f", mean ± std (ddof=1) over the {len(spec.seeds)} seeds ({seeds}), each seed its own training run"
        if several:
            what += (
                f"; each seed's value is the mean over the {min(splits)} splits of the target, and [s] is the "
                "std over the splits, averaged over the seeds"
            )
        elif max(splits, default=1) > 1:
            what += (
                "; where a target has several splits each seed's value is the mean over them, and [s] is the "
                "std over the splits, averaged over the seeds"
            )
    if _has_average(spec):
        average = f"{AVERAGE} is the mean over the targets"
        if len(spec.seeds) > 1:
            average += " (± over the seeds of each seed's average)"
        what += f"; {average}"
    parts.append(what + ".")
    if paired:
        baseline = labels.method_label(BASELINE)
        parts.append(
            f"Rows '… − {baseline} (paired)': per seed, the method's value minus the {baseline}'s of the same "
            "seed (percentage points); mean ± std over the seeds, and in brackets on how many seeds the method "
            f"is higher. {NOISE}: the mean difference is within one std of the per-seed differences, not told "
            f"apart from noise. {ONE_SEED}: one seed, no std to tell a difference from noise."
        )
    if spec.kind == "pairs":
        pairs = "; ".join(
            f"{label}: {' / '.join(labels.method_label(m) for m in methods)}" for label, methods in spec.rows.items()
        )
        parts.append(
            f"Each row is one variant; per target, its {spec.pair_labels[0]} and {spec.pair_labels[1]} "
            f"runs side by side ({pairs})."
        )
    if spec.switches:
        parts.append(f"{CHECK}/{CROSS}: component on/off in the run's configuration.")
    parts.append(f"Model selection: {_selection_text(metrics, selection_default)}.")
    if synthetic is True:
        parts.append(
            "Data: the synthetic benchmark generated by bau synth; these numbers are not comparable "
            "with the paper's, which are therefore not shown."
        )
    elif synthetic is False:
        parts.append("Data: the real datasets.")
        methods, references = _shown(spec, paper)
        if methods or references:
            tables = list(dict.fromkeys(t for m in (*references, *methods) for t in paper.tables[m]))
            parts.append(
                f"(reported): the numbers printed in the paper's {' and '.join(tables)}, as transcribed "
                "in config/reported.csv; the Source column says where each row was read. A reported "
                f"{AVERAGE} is the printed one where the paper prints it, else the mean of the reported targets."
            )
            if methods:
                parts.append("Δ = reproduced − reported.")
            if references:
                names = ", ".join(labels.method_label(m) for m in references)
                parts.append(f"{names}: published results the paper compares against, for reference.")
        elif has_reported:
            parts.append("The paper reports none of these numbers (config/reported.csv).")
        else:
            parts.append("The paper's numbers are not shown: no reported-numbers file was given.")
    else:
        parts.append("Data: not known yet (no metrics).")
    parts.append(f"{MISSING}: not available (not run yet, or not reported).")
    return " ".join(parts)


# ------------------------------------------------------------------------ configuration


def table_spec(config: Mapping[str, Any], name: str, source: str = "configuration") -> TableSpec:
    """The :class:`TableSpec` of ``tables.NAME`` in a (validated) workflow configuration."""
    tables = config.get("tables") or {}
    if name not in tables:
        known = ", ".join(tables) or "none"
        raise ConfigError(f"{source} has no table '{name}' under 'tables' (configured: {known})")
    entry = tables[name]
    protocol = entry["protocol"]
    if protocol not in config["protocols"]:
        raise ConfigError(
            f"{source}: tables.{name}.protocol '{protocol}' is not under 'protocols' "
            f"(configured: {', '.join(config['protocols'])})"
        )
    runs = config["protocols"][protocol]["runs"]
    columns: list[TargetColumn] = []
    shared_sources = set()
    for run in runs.values():
        for target in run["targets"]:
            # A run evaluated on several targets (Protocol-1): columns named by target, the
            # sources go into the caption; a run per target (Protocols 2, 3): M+MS+CS→C3.
            if len(run["targets"]) > 1:
                shared_sources.add(labels.sources_label(run["sources"]))
                columns.append(TargetColumn(target, labels.dataset_label(target)))
            else:
                columns.append(TargetColumn(target, labels.transfer_label(run["sources"], target)))
    kind = entry.get("kind", "protocol")
    methods = list(entry["methods"])
    rows = _pair_spec(entry, name, methods, source) if kind == "pairs" else {}
    return TableSpec(
        name=name,
        protocol=protocol,
        methods=methods,
        columns=columns,
        kind=kind,
        title=entry.get("title"),
        sources=", ".join(sorted(shared_sources)) or None,
        switches=method_switches(config, methods) if kind == "ablation" else {},
        paper=list(entry["paper"]) if entry.get("paper") else None,
        references=list(entry.get("references") or []),
        seeds=protocol_seeds(config, protocol),
        rows=rows,
        pair_labels=tuple(entry.get("pair_labels") or TableSpec.pair_labels),
    )


def _pair_spec(entry: Mapping[str, Any], name: str, methods: list[str], source: str) -> dict[str, tuple[str, str]]:
    """The ``rows`` of a pairs table, checked against its ``methods`` (what the workflow runs)."""
    rows = entry.get("rows") or {}
    if not rows:
        raise ConfigError(
            f"{source}: tables.{name} is of kind 'pairs' but has no 'rows'; give row label -> "
            "[method without BAU, method with BAU], e.g. rows: {MobileNetV2: [baseline_mobilenetv2, bau_mobilenetv2]}"
        )
    paired = [m for pair in rows.values() for m in pair]
    if sorted(set(paired)) != sorted(set(methods)):
        raise ConfigError(
            f"{source}: tables.{name}.rows names the methods {', '.join(sorted(set(paired)))} but "
            f"tables.{name}.methods lists {', '.join(sorted(set(methods)))}; list each method of rows "
            "in methods (the runs the table needs), and no other"
        )
    return {label: (pair[0], pair[1]) for label, pair in rows.items()}


def method_switches(config: Mapping[str, Any], methods: Sequence[str]) -> dict[str, dict[str, bool]]:
    """Effective ablation switches of each configured method, keeping those that differ."""
    effective: dict[str, dict[str, bool]] = {}
    for method in methods:
        if method not in config["methods"]:
            continue
        run = fill_defaults(deep_merge(config.get("run") or {}, config["methods"][method]))
        flags = {key: bool(run[key.split(".")[0]][key.split(".")[1]]) for key in SWITCH_LABELS}
        # The switches as training applies them (without the strong view no BAU loss runs).
        flags.update({f"method.{switch}": on for switch, on in effective_switches(run["method"]).items()})
        effective[method] = flags
    varying = {key for key in SWITCH_LABELS if len({flags[key] for flags in effective.values()}) > 1}
    return {method: {k: v for k, v in flags.items() if k in varying} for method, flags in effective.items()}


def flagged_runs(
    results: Path, config: Mapping[str, Any], spec: TableSpec, trained: Mapping[RunKey, RunKey]
) -> dict[str, list[str]]:
    """The table's training runs (run/method/seed<S>) whose final.json flags them, per flag:
    ``still_falling`` and ``undertrained`` (bau.training.runlog.loss_record); ``trained``:
    bau.config.trained_runs."""
    targets = {col.target for col in spec.columns}
    flagged: dict[str, list[str]] = {"still_falling": [], "undertrained": []}
    for run, run_spec in config["protocols"][spec.protocol]["runs"].items():
        if not targets & set(run_spec["targets"]):
            continue
        for method in spec.methods:
            for seed in spec.seeds:
                final = Path(Layout(str(results)).final(trained[RunKey(spec.protocol, run, method, str(seed))]))
                losses = read_json(final).get("losses", {}) if final.is_file() else {}
                for flag, runs in flagged.items():
                    if losses.get(flag):
                        runs.append(f"{run}/{method}/seed{seed}")
    return flagged


def metrics_path(results: Path, evaluation: EvalKey) -> Path:
    return Path(Layout(str(results)).metrics(evaluation))


# ------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a table of the configuration's 'tables' (e.g. protocol2)")
    parser.add_argument("--config", required=True, help="the workflow configuration (config/config.yaml)")
    parser.add_argument(
        "--results",
        help="results folder holding the evaluations' metrics (default: the config's 'results')",
    )
    parser.add_argument("--out-dir", help="where NAME.md, NAME.csv and NAME.tex go (default: RESULTS/tables)")
    parser.add_argument(
        "--reported",
        help="the paper's numbers (default: reported.csv beside the configuration; shown on real data only)",
    )


def main(args: argparse.Namespace) -> int:
    config = load_workflow_config(args.config)
    spec = table_spec(config, args.name, source=str(args.config))
    results = Path(args.results or config["results"])
    trained = trained_runs(config)  # a run shared with another protocol is read from there

    def evaluation(target: str, method: str, seed: int) -> EvalKey:
        return evaluated_as(trained, config, EvalKey(spec.protocol, target, method, str(seed)))

    metrics = {
        (col.target, method): [
            load_metrics(metrics_path(results, evaluation(col.target, method, seed))) for seed in spec.seeds
        ]
        for col in spec.columns
        for method in spec.methods
    }
    missing = [
        f"{t}/{m}/seed{seed}" for (t, m), v in metrics.items() for seed, one in zip(spec.seeds, v) if one is None
    ]
    if missing:
        log.warning("table %s: no metrics yet for %s (shown as %s)", spec.name, ", ".join(missing), MISSING)
    reported_path = Path(args.reported) if args.reported else Path(args.config).parent / "reported.csv"
    reported = None
    if args.reported or reported_path.is_file():
        reported = load_reported(reported_path)
    elif not config["data"]["synthetic"]:
        log.warning("no reported numbers: %s does not exist", reported_path)
    table = build_table(
        spec,
        metrics,
        reported,
        synthetic_default=config["data"]["synthetic"],
        selection_default=config.get("selection"),
        flagged=flagged_runs(results, config, spec, trained),
    )
    out_dir = Path(args.out_dir or Layout(str(results)).tables_dir())
    for path in write_table(table, out_dir):
        log.info("wrote %s", path)
    return 0
