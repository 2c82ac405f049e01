"""``bau train``: train one model into a run folder, resuming an interrupted run.

    bau train --config CFG.yaml [--set train.epochs=2 ...] --out RUN_DIR [--device cpu] [--nproc N]

The configuration is a run configuration (``$defs/run`` of the schema); every key may be
left out (schema defaults) and ``--set`` overrides single keys with YAML-parsed values
before validation.

A run leases its GPUs (``train.gpus``, :mod:`bau.distributed.lease`) and with more than one
re-runs itself under torchrun, one process per GPU (DDP). ``--nproc N`` on the CPU starts N
gloo processes the same way: the multi-GPU code path on a machine without GPUs.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bau.config import load_yaml_config, validate_run
from bau.errors import ConfigError, TrainingError
from bau.layout import RunDir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="CFG.yaml", help="run configuration (schema $defs/run); default: all defaults"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override one key, dotted, value parsed as YAML (e.g. --set train.epochs=2 --set data.sources=[market1501])",
    )
    parser.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="run folder; rerun with the same folder to resume"
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="shorthand for --set train.device=...")
    parser.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="training processes (DDP); default one per leased GPU. On the CPU, N gloo processes",
    )


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Set each ``dotted.key=value`` of ``overrides`` in ``config`` (in place; returned)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}' must have the form dotted.key=value, e.g. train.epochs=2")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set '{item}': the value is not valid YAML: {err}") from err
        parts = key.strip().split(".")
        node = config
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set '{item}': '{where}' is a value, not a section of keys")
        node[parts[-1]] = value
    return config


def resolve_config(config_path: str | None, overrides: Iterable[str], device: str | None = None) -> dict[str, Any]:
    """The full, validated run configuration from a file, ``--set`` overrides and ``--device``."""
    config = load_yaml_config(config_path) if config_path else {}
    overrides = list(overrides) + ([f"train.device={device}"] if device else [])
    apply_overrides(config, overrides)
    source = config_path or "run configuration"
    if overrides:
        source += " with --set " + " ".join(overrides)
    return validate_run(config, source=source)


def gpus_to_lease(train: dict[str, Any]) -> int:
    """GPUs this run leases: none on CPU; on ``auto`` as many of ``train.gpus`` as there are."""
    from bau.distributed.lease import visible_device_count

    if train["device"] == "cuda" and train["gpus"] == 0:
        raise ConfigError(
            "train.device is cuda but train.gpus is 0; set train.gpus to 1 or more, or train.device to auto or cpu"
        )
    if train["device"] == "cpu" or train["gpus"] == 0:
        return 0
    if train["device"] == "auto":
        return min(train["gpus"], visible_device_count())
    return train["gpus"]


def process_count(train: dict[str, Any], nproc: int | None) -> tuple[int, int]:
    """``(GPUs to lease, training processes)`` of a run: one process per GPU."""
    gpus = gpus_to_lease(train)
    if nproc is None:
        return gpus, max(gpus, 1)
    if nproc < 1 or (gpus and nproc != gpus):
        raise ConfigError(
            f"--nproc {nproc}: a run trains with one process per GPU ({gpus} leased, train.gpus={train['gpus']}, "
            f"train.device={train['device']}); leave --nproc out, or use it with --device cpu"
        )
    return gpus, nproc


def worker_argv(args: argparse.Namespace) -> list[str]:
    """The ``bau train`` command line every torchrun process runs (the same run)."""
    argv = ["train", "--out", str(args.out)]
    if args.config:
        argv += ["--config", str(args.config)]
    for item in args.overrides:
        argv += ["--set", item]
    if args.device:
        argv += ["--device", args.device]
    return argv


def check_batch_split(train: dict[str, Any], processes: int) -> None:
    """Each of ``processes`` loads whole identities of every batch (bau.pipeline.loaders)."""
    if processes > 1 and train["batch_size"] % (train["num_instances"] * processes):
        raise ConfigError(
            f"train.batch_size={train['batch_size']} must be a multiple of train.num_instances="
            f"{train['num_instances']} x {processes} processes (each process loads whole identities)"
        )


def main(args: argparse.Namespace) -> int:
    from bau.distributed.launch import is_worker, run_under_torchrun
    from bau.distributed.lease import lease_gpus
    from bau.training.lock import held_by_parent, run_folder_lock

    # Everything is checked before anything is written into the run folder.
    config = resolve_config(args.config, args.overrides, args.device)
    if is_worker():  # started by torchrun: the parent holds the GPU lease and the folder lock
        if held_by_parent(args.out):
            return train(config, args.out)
        with run_folder_lock(args.out):
            return train(config, args.out)
    gpus, processes = process_count(config["train"], args.nproc)
    check_batch_split(config["train"], processes)
    # Before torch initialises CUDA: CUDA_VISIBLE_DEVICES must name the leased devices only.
    with run_folder_lock(args.out), lease_gpus(gpus):
        if processes == 1:
            return train(config, args.out)
        status = run_under_torchrun(processes, worker_argv(args))
    if status != 0:
        raise TrainingError(
            f"{processes} training processes for {args.out} failed (exit status {status}); "
            f"see {RunDir(Path(args.out)).log} and the errors above. Rerun the same command to resume"
        )
    return 0


def train(config: dict[str, Any], out: str | Path) -> int:
    from bau.training.trainer import Trainer  # torch import only when training

    Trainer(config, Path(out)).run()
    return 0
