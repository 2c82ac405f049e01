"""``bau evaluate``: metrics of a checkpoint on a target dataset, written to a JSON file.

The checkpoint is given directly (``--checkpoint``) or picked from a finished training run
(``--run RUN_DIR --selection last|best_of_eval``, from the run's final summary). The split seed
and split folder default to the ones the run was trained with (its saved config).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from bau.errors import BauError, TrainingError
from bau.io import write_json
from bau.layout import RunDir

log = logging.getLogger(__name__)

SELECTIONS = ("last", "best_of_eval")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a bau-checkpoint-v1 file")
    source.add_argument("--run", type=Path, metavar="RUN_DIR", help="a finished `bau train` output folder")
    parser.add_argument("--selection", choices=SELECTIONS, help="with --run: the final epoch or the best evaluated one")
    parser.add_argument("--dataset", required=True, help="target dataset name (e.g. market1501, grid)")
    parser.add_argument("--data-root", required=True, type=Path, help="folder holding the dataset folders")
    parser.add_argument("--splits-dir", type=Path, help="split files of grid/ilids/prid/viper (default: the run's)")
    parser.add_argument("--split-seed", type=int, help="seed of the small datasets' splits (default: the run's, else 1)")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON to write")
    parser.add_argument("--save-features", type=Path, metavar="NPZ", help="also write split 0's features here")
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3)")
    parser.add_argument("--flip", action="store_true", help="average the features of each image and its mirror")
    parser.add_argument(
        "--amp", action="store_true", help="extract under fp16 autocast (default fp32, as the reference does)"
    )
    parser.add_argument("--viper-both-directions", action="store_true", help="VIPeR: mean of both query/gallery directions")
    parser.add_argument("--max-rank", type=int, default=50, help="length of the CMC curve (default 50)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes")
    parser.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda or cuda:N")


def resolve_checkpoint(run_dir: Path, selection: str | None, dataset: str) -> tuple[Path, str]:
    """The checkpoint of ``run_dir`` that ``selection`` names for ``dataset`` (see RunDir)."""
    if selection is None:
        raise BauError("--run needs --selection last or --selection best_of_eval")
    checkpoint = RunDir(run_dir).selected_checkpoint(selection, dataset)
    return checkpoint, selection


def main(args: argparse.Namespace) -> int:
    from bau.distributed.lease import lease_for_device

    if args.run is not None:
        checkpoint, selection = resolve_checkpoint(args.run, args.selection, args.dataset)
    else:
        if args.selection is not None:
            raise BauError("--selection goes with --run; with --checkpoint the file itself is evaluated")
        checkpoint, selection = args.checkpoint, "checkpoint"
        if not checkpoint.is_file():
            raise TrainingError(f"checkpoint {checkpoint} does not exist")
    # Before torch initialises CUDA: CUDA_VISIBLE_DEVICES must name the leased GPU only.
    with lease_for_device(args.device):
        metrics, saved = evaluate_checkpoint(checkpoint, args)
    result = {
        "dataset": metrics.pop("dataset"),
        "checkpoint": str(checkpoint),
        "epoch": saved.get("epoch"),
        "selection": selection,
        **metrics,
    }
    write_json(args.out, result)
    summary = result["summary"]
    print(
        f"{args.dataset} ({result['num_splits']} split(s)): "
        + "  ".join(f"{name} {100 * s['mean']:.1f}% (std {100 * s['std']:.1f})" for name, s in summary.items())
    )
    log.info("metrics written to %s", args.out)
    return 0


def evaluate_checkpoint(checkpoint: Path, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics, checkpoint dict)`` of ``checkpoint`` on ``args.dataset``."""
    from bau.devices import resolve_device
    from bau.evaluation.evaluate import evaluate_model
    from bau.models import load_model

    device = resolve_device(args.device)
    model, saved = load_model(checkpoint, device=device, num_classes=0)
    data_cfg: dict[str, Any] = (saved.get("config") or {}).get("data", {})
    splits_dir = args.splits_dir if args.splits_dir is not None else data_cfg.get("splits_dir")
    split_seed = args.split_seed if args.split_seed is not None else data_cfg.get("split_seed", 1)
    config = saved["model_config"]
    metrics = evaluate_model(
        model,
        args.dataset,
        args.data_root,
        split_seed=split_seed,
        splits_dir=splits_dir,
        height=config["height"],
        width=config["width"],
        batch_size=args.batch_size,
        device=device,
        flip=args.flip,
        rerank=args.rerank,
        max_rank=args.max_rank,
        workers=args.workers,
        amp=args.amp,
        viper_both_directions=args.viper_both_directions,
        save_features=args.save_features,
    )
    return metrics, saved
