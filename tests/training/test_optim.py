"""The optimizer: torch's fused Adam on the CPU makes the update of the per-parameter loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bau.training.optim import build_optimizer

TRAIN = {"lr": 1e-3, "weight_decay": 5e-4}


def model(dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)).to(dtype)
    return net


def steps(net: nn.Module, optimizer: torch.optim.Optimizer, n: int = 5) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    dtype = next(net.parameters()).dtype
    for _ in range(n):
        optimizer.zero_grad(set_to_none=True)
        x = torch.randn(8, 6, generator=g, dtype=dtype)
        net(x).pow(2).mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in net.parameters()]


def test_cpu_default_is_fused_and_false_is_the_loop():
    assert build_optimizer(model(torch.float32), TRAIN).defaults["fused"] is True
    loop = build_optimizer(model(torch.float32), TRAIN, fused=False)
    assert not loop.defaults["fused"] and loop.defaults["foreach"] is False


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_adam_equals_the_loop_to_rounding(dtype):
    fused_net, loop_net = model(dtype), model(dtype)
    fused = steps(fused_net, build_optimizer(fused_net, TRAIN))
    loop = steps(loop_net, build_optimizer(loop_net, TRAIN, fused=False))
    eps = torch.finfo(dtype).eps
    for a, b in zip(fused, loop):
        # Same arithmetic, possibly in another order: a few ulps of the weights' size.
        torch.testing.assert_close(a, b, rtol=8 * eps, atol=8 * eps)
