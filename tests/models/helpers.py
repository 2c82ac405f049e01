"""Small models and inputs shared by the model tests."""

from __future__ import annotations

import torch

from bau.models import ReIDModel, create_model

HEIGHT, WIDTH = 32, 16


def tiny_resnet(num_classes: int = 5, seed: int = 0) -> ReIDModel:
    """ResNet-18 structure, random weights (the same for the same seed), for 32x16 inputs."""
    torch.manual_seed(seed)
    return create_model("resnet18", num_classes, pretrained="none", height=HEIGHT, width=WIDTH)


def images(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(seed))


def bn_buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Running statistics and counters of every BatchNorm."""
    return {
        k: v.clone()
        for k, v in model.state_dict().items()
        if k.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")
    }
