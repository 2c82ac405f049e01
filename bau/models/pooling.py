"""Generalised-mean (GeM) pooling with a learnable exponent (docs/reference.md §3.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GeM(nn.Module):
    """y = (mean over H x W of clamp(x, eps)^p)^(1/p), p learnable; output B x C x 1 x 1.

    ``p`` is a parameter of shape (1,) as in the reference, so its state-dict entry
    (``...p``) loads from and into reference checkpoints unchanged.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.full((1,), float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f"p={self.p.item():.4g}, eps={self.eps}"
