"""GlobalBatchNorm under 2 gloo processes equals BatchNorm over the whole batch in one process."""

import copy

import torch
from torch import nn

from bau.distributed.ddp import gather_with_grad
from bau.distributed.sync_bn import GlobalBatchNorm, convert_sync_batchnorm
from tests.distributed.multiproc import run_ranks


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5), nn.BatchNorm1d(5)
    )
    net(torch.randn(2, 3, 6, 6))  # materialise the lazy layer
    net[5].bias.requires_grad_(False)  # like the BNNeck: frozen bias must stay frozen
    return net


def _batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 6, 6, generator=g), torch.randn(8, 5, generator=g)


def _rank_fn(rank, world):
    net = convert_sync_batchnorm(_net(), torch.device("cpu"))
    x, target = _batch()
    local = x.chunk(world)[rank]
    out = gather_with_grad(net(local))
    loss = ((out - target) ** 2).mean()
    loss.backward()
    # every rank computed the global loss; all_gather's backward summed the ranks' gradients
    grads = {n: p.grad.clone() / world for n, p in net.named_parameters() if p.grad is not None}
    for g in grads.values():  # DDP's gradient averaging
        torch.distributed.all_reduce(g)
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    return out.detach(), grads, buffers, net[5].bias.requires_grad


def test_global_batchnorm_matches_single_process():
    net = _net()
    x, target = _batch()
    out = net(x)
    ((out - target) ** 2).mean().backward()
    results = run_ranks(_rank_fn, world=2)
    for out_r, grads, buffers, bias_trainable in results:
        torch.testing.assert_close(out_r, out.detach(), rtol=1e-5, atol=1e-5)
        for name, b in net.named_buffers():
            torch.testing.assert_close(buffers[name], b, rtol=1e-5, atol=1e-6)
        assert not bias_trainable
        expected = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
        assert grads.keys() == expected.keys()
        for name, g in expected.items():
            torch.testing.assert_close(grads[name], g, rtol=1e-4, atol=1e-6)


def test_global_batchnorm_without_process_group_is_plain_batchnorm():
    net = _net()
    converted = convert_sync_batchnorm(copy.deepcopy(net), torch.device("cpu"))
    assert isinstance(converted[1], GlobalBatchNorm)
    x, _ = _batch()
    torch.testing.assert_close(converted(x), net(x))
