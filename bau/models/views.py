"""Forwarding the weak and strong views with the reference's BatchNorm semantics (docs/reference.md §7 item 1).

The reference concatenates the two views and runs them through DataParallel on two GPUs: the
weak views land on GPU 0 and the strong views on GPU 1, so every BatchNorm (backbone and
BNNeck) normalises each view with that view's own batch statistics, and the running
statistics kept for testing come from the weak views only. ``bn_views="separate"`` (default)
reproduces this on any device with two train-mode passes sharing the weights, the strong one
leaving the BatchNorm running statistics untouched. ``bn_views="joint"`` is one pass over both
views (mixed statistics), what a naive single-device port does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from bau.models.head import TrainOutputs

BN_VIEWS = ("separate", "joint")


@contextlib.contextmanager
def frozen_bn_statistics(model: nn.Module) -> Iterator[None]:
    """Inside, train-mode BatchNorm normalises with batch statistics but leaves its running
    statistics and ``num_batches_tracked`` untouched.

    Done by clearing ``track_running_stats`` of the train-mode BatchNorm layers for the
    duration, which every BatchNorm implementation in use honours (torch's, SyncBatchNorm,
    timm's BatchNormAct2d, bau.distributed's GlobalBatchNorm). Restoring saved buffers
    instead would be wrong: the buffers are saved for backward by the first pass, and
    writing them bumps their version, so backward would refuse to run.
    """
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    for layer in layers:
        layer.track_running_stats = False
    try:
        yield
    finally:
        for layer in layers:
            layer.track_running_stats = True


def forward_views(
    model: nn.Module, x_w: torch.Tensor, x_s: torch.Tensor, bn_views: str = "separate"
) -> tuple[TrainOutputs, TrainOutputs]:
    """Train-mode outputs ``(weak, strong)``, each ``(emb, f, logits)``, of a batch's two views."""
    if not model.training:
        raise ValueError("forward_views needs the model in train mode (model.train())")
    if bn_views == "separate":
        out_w = model(x_w)
        with frozen_bn_statistics(model):
            out_s = model(x_s)
        return TrainOutputs(*out_w), TrainOutputs(*out_s)
    if bn_views == "joint":
        out = model(torch.cat([x_w, x_s]))
        b = x_w.shape[0]
        halves = [(None, None) if t is None else (t[:b], t[b:]) for t in out]
        return TrainOutputs(*(w for w, _ in halves)), TrainOutputs(*(s for _, s in halves))
    raise ValueError(f"train.bn_views must be one of {', '.join(BN_VIEWS)}, got {bn_views!r}")
