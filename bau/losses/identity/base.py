"""The interface every identity loss implements."""

from __future__ import annotations

import torch
from torch import nn


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in fp32 if it is in a lower precision (fp16 / bf16 under autocast), else as it is."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class IdentityLoss(nn.Module):
    """An identity (classification) loss of the weak views of a batch.

    :func:`bau.losses.create_id_loss` builds it as ``cls(num_classes, feat_dim, **params)``
    from ``method.id_loss``; the objective calls it on the global batch as
    ``loss(f, logits, weight, targets)``:

    - ``f`` (B x D): the L2-normalised BNNeck features;
    - ``logits`` (B x C): the model's bias-free classifier applied to the *un-normalised*
      BNNeck features (the reference's logits);
    - ``weight`` (C x D): that classifier's weight, un-normalised: one class weight (proxy)
      per identity;
    - ``targets`` (B): the identity labels.

    The class weights live in the model (``classifier.weight``), so they are trained, decayed,
    checkpointed and averaged under DDP with the backbone, whichever loss reads them. A loss
    may own further parameters (PCL's projections): the trainer optimises and checkpoints
    them with the model; under DDP every rank computes the same gradient for them, since the
    loss sees the gathered global batch.
    """

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.feat_dim = feat_dim

    def forward(
        self, f: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward(f, logits, weight, targets)")
