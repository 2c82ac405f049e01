"""How a model is evaluated (:class:`EvalOptions`): torch-free, so that ``bau evaluate`` can
tell whether the trainer's final evaluation already is the one it was asked for before it
imports torch."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EvalOptions:
    """How a model is evaluated on a target: a run's ``eval`` settings and image size.

    ``amp``: fp16 autocast during extraction (off by default: fp32, as the reference).
    """

    height: int = 256
    width: int = 128
    split_seed: int = 1
    splits_dir: str | os.PathLike | None = None
    batch_size: int = 256
    flip: bool = False
    rerank: bool = False
    max_rank: int = 50
    workers: int = 0
    amp: bool = False
    viper_both_directions: bool = False

    @classmethod
    def from_run_config(cls, cfg: Mapping[str, Any], **overrides: Any) -> EvalOptions:
        """The options a resolved run config evaluates with; ``overrides`` replace single fields."""
        data, ev, model = cfg["data"], cfg["eval"], cfg["model"]
        options = cls(
            height=model["height"],
            width=model["width"],
            split_seed=data["split_seed"],
            splits_dir=data["splits_dir"],
            batch_size=ev["batch_size"],
            flip=ev["flip"],
            rerank=ev["rerank"],
            max_rank=ev["max_rank"],
            workers=data["workers"],
            amp=ev["amp"],
            viper_both_directions=ev["viper_both_directions"],
        )
        return replace(options, **overrides)

    def key(self) -> dict[str, Any]:
        """The options as plain JSON values (the splits folder resolved): equal keys, equal evaluations."""
        key = asdict(self)
        if self.splits_dir is not None:
            key["splits_dir"] = str(Path(self.splits_dir).resolve())
        return key


def evaluation_key(epoch: int, device_type: str, data_root: str | os.PathLike, options: EvalOptions) -> dict[str, Any]:
    """What makes two evaluations of a run the same one: the checkpoint's epoch, the device
    type (``cpu``, ``cuda``), the data root (resolved) and the options. The trainer records it
    beside its final evaluation; ``bau evaluate --run`` reuses that evaluation when its own
    key is equal."""
    return {
        "epoch": epoch,
        "device": device_type,
        "data_root": str(Path(data_root).resolve()),
        "options": options.key(),
    }
