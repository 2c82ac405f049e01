"""A tiny checkpoint for evaluation tests (the image trees are tests.fixtures.datasets')."""

from __future__ import annotations

from pathlib import Path

import torch

from bau.checkpoint import save_checkpoint
from bau.models import create_model
from tests.fixtures.datasets import PERSON_HEIGHT as HEIGHT
from tests.fixtures.datasets import PERSON_WIDTH as WIDTH


def make_checkpoint(path: Path, epoch: int = 2, seed: int = 0, config: dict | None = None) -> Path:
    """A resnet18 (random init, BN running stats nudged so eval mode is not trivial) as ``bau train`` saves it;
    ``config`` = the saved run config (schema defaults fill what it leaves out)."""
    torch.manual_seed(seed)
    model = create_model("resnet18", 3, pretrained="none", height=HEIGHT, width=WIDTH)
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, HEIGHT, WIDTH))  # running statistics away from 0 / 1
    save_checkpoint(
        path,
        {
            "epoch": epoch,
            "model_config": model.model_config,
            "model": model.state_dict(),
            "optimizer": None,
            "scheduler": None,
            "scaler": None,
            "memory": None,
            "config": config or {"data": {"split_seed": 1, "splits_dir": None, "workers": 0}},
            "config_hash": "test",
        },
    )
    return path
