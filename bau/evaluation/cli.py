"""``bau evaluate``: metrics of a checkpoint on a target dataset, written to a JSON file.

The checkpoint is given directly (``--checkpoint``) or picked from a finished training run
(``--run RUN_DIR --selection last|best_of_eval``, from the run's final summary). The split seed,
split folder and evaluation settings default to the run's (the config saved in the
checkpoint), so the result repeats the run's own evaluation; options override them.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from bau.errors import BauError, TrainingError
from bau.evaluation.options import EvalOptions, evaluation_key
from bau.io import atomic_open, read_json, read_yaml, write_json
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
        checkpoint, epoch = RunDir(args.run).selected(args.selection, args.dataset)
        selection = args.selection
        reused = reuse_final_evaluation(args, epoch)
        if reused is not None:
            metrics, saved = reused, {"epoch": epoch}
            write_result(args, metrics, checkpoint, selection, saved)
            log.info(
                "reused the run's own evaluation of epoch %d (%s)", epoch, RunDir(args.run).final_metrics(args.dataset)
            )
            return 0
    else:
        if args.selection is not None:
            raise BauError("--selection goes with --run; with --checkpoint the file itself is evaluated")
        checkpoint, selection = args.checkpoint, "checkpoint"
        if not checkpoint.is_file():
            raise TrainingError(f"checkpoint {checkpoint} does not exist")
    # Before torch initialises CUDA: CUDA_VISIBLE_DEVICES must name the leased GPU only.
    with lease_for_device(args.device):
        metrics, saved = evaluate_checkpoint(checkpoint, args)
    write_result(args, metrics, checkpoint, selection, saved)
    return 0


def write_result(
    args: argparse.Namespace, metrics: dict[str, Any], checkpoint: Path, selection: str, saved: dict[str, Any]
) -> None:
    """metrics.json: the evaluation and which checkpoint (selection, epoch) it is of."""
    metrics = dict(metrics)
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


def evaluation_options(run_config: dict[str, Any], args: argparse.Namespace) -> EvalOptions:
    """How ``args`` evaluate a checkpoint of ``run_config``: the run's own settings, with the
    options given on the command line in their place."""
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
    return EvalOptions.from_run_config(
        run_config, **{name: value for name, value in given.items() if value is not None}
    )


def reuse_final_evaluation(args: argparse.Namespace, epoch: int) -> dict[str, Any] | None:
    """The metrics of the trainer's own evaluation of its last epoch (``RunDir.final_evaluation``)
    when it is the evaluation ``args`` ask for: the same checkpoint (epoch), data root, device
    (``--device cpu`` or ``cuda``, named as the trainer's device type; ``auto`` is not
    resolved, which would import torch) and options. Its features are copied to
    ``--save-features``. None otherwise: then the checkpoint is evaluated.

    The trainer's model extracted in its training memory format (channels_last on the CPU),
    a loaded checkpoint in the default one, so the two agree to float rounding, not bit for bit.
    """
    from bau.config import fill_defaults

    run = RunDir(args.run)
    stored_path, features = run.final_metrics(args.dataset), run.final_features(args.dataset)
    if not stored_path.is_file() or not run.config.is_file():
        return None
    stored = read_json(stored_path)
    options = evaluation_options(fill_defaults(read_yaml(run.config)), args)
    key = evaluation_key(epoch, args.device.split(":")[0], args.data_root, options)
    if {name: stored.get(name) for name in key} != key:
        return None
    if args.save_features is not None:
        if not features.is_file():
            return None
        with open(features, "rb") as source, atomic_open(args.save_features, "wb") as target:
            shutil.copyfileobj(source, target)
    return stored["metrics"]


def evaluate_checkpoint(checkpoint: Path, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics, checkpoint dict)`` of ``checkpoint`` on ``args.dataset``."""
    from bau.config import fill_defaults
    from bau.devices import resolve_device
    from bau.evaluation.evaluate import evaluate_model
    from bau.models import load_model

    device = resolve_device(args.device)
    model, saved = load_model(checkpoint, device=device, num_classes=0)
    # Schema defaults complete the config of a checkpoint written without one.
    run_config = fill_defaults(saved.get("config") or {})
    config = saved["model_config"]
    options = replace(evaluation_options(run_config, args), height=config["height"], width=config["width"])
    metrics = evaluate_model(
        model, args.dataset, args.data_root, options, device=device, save_features=args.save_features
    )
    return metrics, saved
