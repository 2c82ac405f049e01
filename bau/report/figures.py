"""`bau figure KIND --inputs FILE... --out NAME.png`: the result figures (PNG + PDF beside it).

Kinds and their inputs (files the workflow already has):

- ``loss_curves``: RUN_DIR/losses.jsonl of one or more runs (one colour each);
- ``cmc``: metrics JSON files (one panel per target, methods overlaid);
- ``align_uniform``: target features npz of split 0, one per method (and target);
- ``tsne``: features npz files, one per domain (sources and target);
- ``retrieval``: target features npz, one per method, plus the data root of the images;
- ``sweep_map``, ``sweep_align_uniform``, ``sweep_tsne``: the analysis figures of the sweeps
  (bau.report.analyses), their inputs described by ``--points``.

Default labels come from the results layout (``<protocol>/<target>/<method>/FILE``);
``--labels`` overrides them, one per input.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from bau.errors import BauError
from bau.layout import metrics_beside
from bau.report import labels as names
from bau.report.inputs import ResultPath, check_labels, load_features, load_losses, load_metrics
from bau.report.plotting import png_path, save_figure

log = logging.getLogger(__name__)

KINDS = ("loss_curves", "cmc", "align_uniform", "tsne", "retrieval")
#: The analysis figures of the sweeps (bau.report.analyses), drawn from --points too.
SWEEP_KINDS = ("sweep_map", "sweep_align_uniform", "sweep_tsne")


def _metrics_note(features_path: str) -> str | None:
    """``45.1 / 60.2`` (mAP / R-1 in %) from the metrics JSON beside a features file, if any."""
    metrics = load_metrics(metrics_beside(features_path))
    if metrics is None:
        return None
    summary = metrics["summary"]
    return f"{100 * summary['mAP']['mean']:.1f} / {100 * summary['rank1']['mean']:.1f}"


def _method_labels(args: argparse.Namespace) -> list[str]:
    """``--labels``, or each input's method from the results layout."""
    if args.labels:
        return check_labels(args.labels, args.inputs)
    return [names.method_label(ResultPath.of(path).method) for path in args.inputs]


def _panels(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(panel, label)`` per input: a panel per target dataset, whatever protocol folder its
    evaluation is in (a table's run shared with another protocol is evaluated there, and
    belongs beside the table's own). Labels that would repeat within a panel name their
    protocol."""
    where = [ResultPath.of(p) for p in args.inputs]
    panels = [names.dataset_label(w.target) for w in where]
    labels = _method_labels(args)
    if len(set(zip(panels, labels))) < len(labels):
        labels = [f"{label} ({names.protocol_label(w.protocol)})" for label, w in zip(labels, where)]
    return list(zip(panels, labels))


def loss_curves(args: argparse.Namespace) -> Figure:
    from bau.report.curves import plot_loss_curves

    labels = check_labels(args.labels, args.inputs)
    runs = [(label, load_losses(path)) for label, path in zip(labels, args.inputs)]
    title = args.title
    where = {(w.protocol, w.target) for w in map(ResultPath.of, args.inputs)}
    if title is None and len(where) == 1:
        protocol, run = where.pop()
        title = f"Training losses: {names.protocol_label(protocol)}, run {run}"
        title += f", {labels[0]}" if len(runs) == 1 else ""
    return plot_loss_curves(runs, smooth=args.smooth, title=title)


def cmc(args: argparse.Namespace) -> Figure:
    from bau.report.curves import plot_cmc

    curves = []
    for path, (panel, label) in zip(args.inputs, _panels(args)):
        metrics = load_metrics(path, required=[("cmc",), ("dataset",)])
        if metrics is None:
            raise BauError(f"metrics file {path} does not exist; evaluate first (bau evaluate ... --out {path})")
        curves.append((panel, label, metrics))
    protocols = {ResultPath.of(p).protocol for p in args.inputs}
    title = args.title or (f"CMC curves, {names.protocol_label(protocols.pop())}" if len(protocols) == 1 else None)
    return plot_cmc(curves, max_rank=args.max_rank, title=title)


def align_uniform(args: argparse.Namespace) -> Figure:
    from bau.report.embedding_metrics import target_alignment_uniformity
    from bau.report.embedding_plots import AlignUniformPoint, plot_align_uniform

    points = []
    for path, (panel, label) in zip(args.inputs, _panels(args)):
        features = load_features(path, required=("feats", "pids", "is_query"))
        align, uniform = target_alignment_uniformity(features, max_points=args.max_points, seed=args.seed)
        log.info("%s: align %.4f, uniform %.4f", path, align, uniform)
        points.append(AlignUniformPoint(panel, label, align, uniform, _metrics_note(path)))
    if len({p.label for p in points}) == 1 < len(points):
        # one method on several targets: one panel, a point per target
        method = points[0].label
        points = [AlignUniformPoint(method, p.panel, p.align, p.uniform, p.note) for p in points]
        return plot_align_uniform(points, title=args.title, legend_title="target")
    return plot_align_uniform(points, title=args.title)


def tsne(args: argparse.Namespace) -> Figure:
    from bau.report.embedding_plots import plot_tsne, subsample_per_domain, tsne_embedding

    labels = args.labels and check_labels(args.labels, args.inputs)
    feats, domains = [], []
    for i, path in enumerate(args.inputs):
        features = load_features(path, required=("feats",))
        if labels:
            domain = np.full(len(features["feats"]), labels[i])
        elif "domain" in features:  # a name for the file, or one per row
            if features["domain"].size not in (1, len(features["feats"])):
                raise BauError(f"{path}: 'domain' must hold one name, or one per feature row")
            domain = np.broadcast_to(features["domain"].astype(str).ravel(), (len(features["feats"]),))
        else:
            domain = np.full(len(features["feats"]), names.dataset_label(ResultPath.of(path).target))
        feats.append(features["feats"])
        domains.append(domain)
    domain = np.concatenate(domains)
    unknown = sorted(set(args.targets) - set(domain.tolist()))
    if unknown:
        raise BauError(
            f"--targets {', '.join(unknown)}: no such domain; the domains are {', '.join(dict.fromkeys(domain.tolist()))}"
        )
    rows = subsample_per_domain(domain, args.max_points, seed=args.seed)
    embedding = tsne_embedding(np.concatenate(feats)[rows], perplexity=args.perplexity, seed=args.seed)
    return plot_tsne(embedding, domain[rows], targets=args.targets, title=args.title)


def retrieval(args: argparse.Namespace) -> Figure:
    from bau.report.retrieval import choose_queries, plot_retrieval, ranked_rows

    methods = [(label, load_features(path)) for label, path in zip(_method_labels(args), args.inputs)]
    first = methods[0][1]
    query_paths = [str(first["paths"][q]) for q in choose_queries(first, args.queries, seed=args.seed)]
    rows = ranked_rows(methods, query_paths, topk=args.topk)
    title = args.title or (
        f"{names.dataset_label(ResultPath.of(args.inputs[0]).target)}: top-{args.topk} gallery images per query "
        "(green: same identity, red: another)"
    )
    return plot_retrieval(rows, data_root=args.data_root, title=title)


BUILDERS: dict[str, Callable[[argparse.Namespace], Figure]] = {
    "loss_curves": loss_curves,
    "cmc": cmc,
    "align_uniform": align_uniform,
    "tsne": tsne,
    "retrieval": retrieval,
}

HELP = {
    "loss_curves": ("losses.jsonl of one or more training runs", "training loss curves, one panel per loss term"),
    "cmc": ("metrics.json files of bau evaluate", "CMC curves, one panel per target, methods overlaid"),
    "align_uniform": (
        "features npz of each method's target test set",
        "alignment against uniformity, one point per method",
    ),
    "tsne": ("features npz files, one per domain", "t-SNE of source and target features coloured by domain"),
    "retrieval": ("features npz of each method on one target", "ranked retrieval lists of a few queries"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bau.report import analyses

    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in SWEEP_KINDS:
        inputs_help, description = analyses.HELP[kind]
        sub = kinds.add_parser(kind, help=description, description=description)
        sub.add_argument("--inputs", nargs="+", required=True, metavar="FILE", help=inputs_help)
        sub.add_argument("--out", required=True, help="the PNG to write (NAME.pdf is written beside it)")
        sub.add_argument("--title", help="figure title (default: what it shows)")
        analyses.add_arguments(sub, kind)
    for kind in KINDS:
        inputs_help, description = HELP[kind]
        sub = kinds.add_parser(kind, help=description, description=description)
        sub.add_argument("--inputs", nargs="+", required=True, metavar="FILE", help=inputs_help)
        sub.add_argument("--out", required=True, help="the PNG to write (NAME.pdf is written beside it)")
        labels_help = (
            "domain name per input (default: the npz's 'domain' array, else the results layout)"
            if kind == "tsne"
            else "one label per input (default: from the results layout)"
        )
        sub.add_argument("--labels", nargs="+", metavar="LABEL", help=labels_help)
        sub.add_argument("--title", help="figure title")
        if kind == "loss_curves":
            sub.add_argument(
                "--smooth", type=int, metavar="N", help="moving-average window in iterations (default: 1/40 of the run)"
            )
        if kind == "cmc":
            sub.add_argument("--max-rank", type=int, default=20, help="last rank drawn (default 20)")
        if kind in ("align_uniform", "tsne", "retrieval"):
            sub.add_argument("--seed", type=int, default=0, help="seed of the subsampling / t-SNE / query choice")
        if kind == "align_uniform":
            sub.add_argument(
                "--max-points",
                type=int,
                default=5000,
                help="features used for uniformity (random subset; default 5000)",
            )
        if kind == "tsne":
            sub.add_argument(
                "--targets", nargs="+", default=[], metavar="LABEL", help="domains drawn as target domains (triangles)"
            )
            sub.add_argument(
                "--max-points", type=int, default=3000, help="points in the map, shared by the domains (default 3000)"
            )
            sub.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
        if kind == "retrieval":
            sub.add_argument("--data-root", help="data root for image paths that are relative")
            sub.add_argument("--queries", type=int, default=4, help="number of queries (default 4)")
            sub.add_argument("--topk", type=int, default=10, help="gallery images per query (default 10)")


def main(args: argparse.Namespace) -> int:
    out = png_path(args.out)
    if args.kind in SWEEP_KINDS:
        from bau.report.analyses import BUILDERS as SWEEP_BUILDERS

        figure = SWEEP_BUILDERS[args.kind](args)
    else:
        figure = BUILDERS[args.kind](args)
    for path in save_figure(figure, out):
        log.info("wrote %s", path)
    return 0
