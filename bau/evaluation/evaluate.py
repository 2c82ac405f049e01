"""Evaluate a model on every split of a target dataset: per-split metrics, mean and std.

Features are extracted once for the union of the query and gallery images of all splits
(the small datasets' ten splits share their images), then each split is ranked by indexing.
The result is the ``metrics.json`` structure without the checkpoint fields, which
``bau evaluate`` adds. VIPeR with ``viper_both_directions`` evaluates each split in both
directions (query cam_a / gallery cam_b and the reverse) and records the mean of the two.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bau.datasets import ReIDDataset, create_datasets, directions, num_splits
from bau.devices import resolve_device
from bau.errors import ConfigError, DatasetError
from bau.evaluation.features import extract_features
from bau.evaluation.options import EvalOptions
from bau.io import atomic_open
from bau.layout import SYNTHETIC_MARKER
from bau.metrics import evaluate_rank

log = logging.getLogger(__name__)

#: Summary metrics: name -> 0-based CMC index (None: not a CMC value). The one list of the
#: metrics recorded per evaluation: the trainer's evals.jsonl and final.json use it too.
SUMMARY_METRICS = {"mAP": None, "mINP": None, "rank1": 0, "rank5": 4, "rank10": 9}


def evaluate_model(
    model: torch.nn.Module,
    dataset_name: str,
    data_root: str | os.PathLike,
    options: EvalOptions | None = None,
    *,
    device: str | torch.device = "cpu",
    splits: list[int] | None = None,
    save_features: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` on ``dataset_name`` (all its splits unless ``splits`` is given),
    evaluated as ``options`` say (default: :class:`EvalOptions`' defaults).

    ``save_features``: also write the first evaluated split's features to this .npz file
    (keys feats, pids, camids, paths, is_query; query images first).
    """
    options = EvalOptions() if options is None else options
    if options.max_rank < 10:
        raise ConfigError(f"eval.max_rank is {options.max_rank}, but rank-10 is reported: use at least 10")
    splits = list(range(num_splits(dataset_name))) if splits is None else list(splits)
    if not splits:
        raise ConfigError(f"{dataset_name}: no split to evaluate")
    views = create_datasets(
        dataset_name,
        data_root,
        splits,
        split_seed=options.split_seed,
        splits_dir=options.splits_dir,
        query_directions=directions(dataset_name, options.viper_both_directions),
    )
    paths = list(dict.fromkeys(item.path for view in views.values() for item in (*view.query, *view.gallery)))
    row = {path: index for index, path in enumerate(paths)}
    log.info("%s: extracting features of %d images for %d split(s)", dataset_name, len(paths), len(splits))
    device = resolve_device(device)
    feats = extract_features(
        model,
        paths,
        height=options.height,
        width=options.width,
        batch_size=options.batch_size,
        device=device,
        flip=options.flip,
        amp=options.amp,
        workers=options.workers,
    )
    if save_features is not None:
        _save_features(save_features, feats, views[next(iter(views))], row)
    feats = feats.to(device)

    records = []
    for split in splits:
        per_direction = [
            _rank(views[split, direction], feats, row, options, f"{dataset_name} split {split} ({direction})")
            for direction in directions(dataset_name, options.viper_both_directions)
        ]
        view = views[split, directions(dataset_name)[0]]
        records.append(_split_record(split, per_direction, len(view.query), len(view.gallery)))
        log.info(
            "%s split %d: mAP %.1f%% rank-1 %.1f%% mINP %.1f%%",
            dataset_name,
            split,
            100 * records[-1]["mAP"],
            100 * records[-1]["rank1"],
            100 * records[-1]["mINP"],
        )
    return {
        "dataset": dataset_name,
        "synthetic": (Path(data_root) / SYNTHETIC_MARKER).is_file(),
        "num_splits": len(records),
        "rerank": options.rerank,
        "flip": options.flip,
        "splits": records,
        "summary": {
            name: {"mean": float(np.mean([r[name] for r in records])), "std": float(np.std([r[name] for r in records]))}
            for name in SUMMARY_METRICS
        },
        "cmc": np.mean([r["cmc"] for r in records], axis=0).tolist(),
    }


def _rank(
    view: ReIDDataset, feats: torch.Tensor, row: dict[str, int], options: EvalOptions, what: str
) -> dict[str, Any]:
    if not view.query or not view.gallery:
        raise DatasetError(
            f"{what}: {len(view.query)} query and {len(view.gallery)} gallery images; both must be non-empty"
        )
    q_index = torch.tensor([row[item.path] for item in view.query], device=feats.device)
    g_index = torch.tensor([row[item.path] for item in view.gallery], device=feats.device)
    try:
        return evaluate_rank(
            feats[q_index],
            feats[g_index],
            [item.pid for item in view.query],
            [item.pid for item in view.gallery],
            [item.camid for item in view.query],
            [item.camid for item in view.gallery],
            max_rank=options.max_rank,
            rerank=options.rerank,
        )
    except DatasetError as err:
        raise DatasetError(f"{what}: {err}") from err


def _split_record(split: int, per_direction: list[dict[str, Any]], num_query: int, num_gallery: int) -> dict[str, Any]:
    """One split's metrics (the mean over its directions when there are two)."""
    cmc = np.mean([m["cmc"] for m in per_direction], axis=0)
    record: dict[str, Any] = {"split": split}
    for name, index in SUMMARY_METRICS.items():
        record[name] = float(cmc[index]) if index is not None else float(np.mean([m[name] for m in per_direction]))
    record.update(cmc=cmc.tolist(), num_query=num_query, num_gallery=num_gallery)
    return record


def _save_features(path: str | os.PathLike, feats: torch.Tensor, view: ReIDDataset, row: dict[str, int]) -> None:
    items = [*view.query, *view.gallery]
    with atomic_open(path, "wb") as handle:
        np.savez(
            handle,
            feats=feats[[row[item.path] for item in items]].numpy(),
            pids=np.array([item.pid for item in items], dtype=np.int64),
            camids=np.array([item.camid for item in items], dtype=np.int64),
            paths=np.array([item.path for item in items], dtype=str),
            is_query=np.arange(len(items)) < len(view.query),
        )
