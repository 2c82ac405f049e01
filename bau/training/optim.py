"""Optimizer and learning-rate schedule of the reference (docs/reference.md §4.1 steps 5 and 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from bau.models import param_groups
from bau.training.schedule import WarmupMultiStepLR


def build_optimizer(model: nn.Module, train_cfg: Mapping[str, Any], *, fused: bool | None = None) -> torch.optim.Adam:
    """Adam over the reference's parameter groups; weight decay is classic L2 (not AdamW).

    ``fused`` None: torch's fused kernel when every parameter is on the CPU, where the default
    per-parameter loop costs about 5x as much for the same update (Adam's arithmetic per element,
    equal to the loop's to rounding; tests/training/test_optim.py); on CUDA torch's own default
    (foreach). False forces the per-parameter loop, the implementation of torch's default on CPU.
    """
    params = list(model.parameters())
    on_cpu = bool(params) and all(p.device.type == "cpu" for p in params)
    options: dict[str, Any] = {}
    if fused or (fused is None and on_cpu):
        options["fused"] = True
    elif fused is False:
        options["foreach"] = False
    groups = param_groups(model, train_cfg["lr"], train_cfg["weight_decay"])
    return torch.optim.Adam(groups, lr=train_cfg["lr"], weight_decay=train_cfg["weight_decay"], **options)


def build_scheduler(optimizer: torch.optim.Optimizer, train_cfg: Mapping[str, Any]) -> WarmupMultiStepLR:
    return WarmupMultiStepLR(
        optimizer,
        milestones=train_cfg["milestones"],
        gamma=train_cfg["gamma"],
        warmup_factor=train_cfg["warmup_factor"],
        warmup_epochs=train_cfg["warmup_epochs"],
    )
