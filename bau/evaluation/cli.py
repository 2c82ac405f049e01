"""``bau evaluate``: metrics of a checkpoint on a target dataset, written to a JSON file.

The checkpoint is given directly (``--checkpoint``) or picked from a finished training run
(``--run RUN_DIR --selection last|best_of_eval``, from the run's final summary). The split seed,
split folder and evaluation settings default to the run's (the config saved in the
checkpoint), so the result repeats the run's own evaluation; options override them.
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
    parser.add_argument(
        "--split-seed", type=int, help="seed of the small datasets' splits (default: the run's, else 1)"
    )
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON to write")
    parser.add_argument("--save-features", type=Path, metavar="NPZ", help="also write split 0's features here")
    # The evaluation settings default to the checkpoint's run config (eval.*, data.workers),
    # so that `bau evaluate` evaluates as the run's own evaluations did; --no-X turns X off.
    on_off = argparse.BooleanOptionalAction
    parser.add_argument("--rerank", action=on_off, help="k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3)")
    parser.add_argument("--flip", action=on_off, help="average the features of each image and its mirror")
    parser.add_argument("--amp", action=on_off, help="extract under fp16 autocast (the reference extracts in fp32)")
    parser.add_argument("--viper-both-directions", action=on_off, help="VIPeR: mean of both query/gallery directions")
    parser.add_argument("--max-rank", type=int, help="length of the CMC curve (default: the run's, 50 by default)")
    parser.add_argument("--batch-size", type=int, help="images per batch (default: the run's eval.batch_size)")
    parser.add_argument("--workers", type=int, help="image decoding processes (default: the run's data.workers)")
    parser.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda or cuda:N")


def main(args: argparse.Namespace) -> int:
    from bau.distributed.lease import lease_for_device

    if args.run is not None:
        if args.selection is None:
            raise BauError("--run needs --selection last or --selection best_of_eval")
        checkpoint, selection = RunDir(args.run).selected_checkpoint(args.selection, args.dataset), args.selection
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
    from bau.config import fill_defaults
    from bau.devices import resolve_device
    from bau.evaluation.evaluate import EvalOptions, evaluate_model
    from bau.models import load_model

    device = resolve_device(args.device)
    model, saved = load_model(checkpoint, device=device, num_classes=0)
    # Schema defaults complete the config of a checkpoint written without one.
    run_config = fill_defaults(saved.get("config") or {})
    config = saved["model_config"]
    given = {
        "split_seed": args.split_seed,
        "splits_dir": args.splits_dir,
        "batch_size": args.batch_size,
        "flip": args.flip,
        "rerank": args.rerank,
        "max_rank": args.max_rank,
        "workers": args.workers,
        "amp": args.amp,
        "viper_both_directions": args.viper_both_directions,
    }
    options = EvalOptions.from_run_config(
        run_config,
        height=config["height"],
        width=config["width"],
        **{name: value for name, value in given.items() if value is not None},
    )
    metrics = evaluate_model(
        model, args.dataset, args.data_root, options, device=device, save_features=args.save_features
    )
    return metrics, saved
