"""Softmax cross-entropy with label smoothing: the reference's identity loss (``ce``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bau.losses.identity._registry import register_id_loss
from bau.losses.identity.base import IdentityLoss


def cross_entropy_label_smooth(logits: torch.Tensor, targets: torch.Tensor, epsilon: float = 0.1) -> torch.Tensor:
    """Mean over the batch of sum_c -q_c log softmax(logits)_c, q = (1-eps) onehot + eps/N."""
    return F.cross_entropy(logits, targets, label_smoothing=epsilon)


@register_id_loss("ce")
class CrossEntropyLabelSmooth(IdentityLoss):
    """Label-smoothed softmax cross-entropy on the model's logits (official
    ``bau/loss/crossentropy.py``, ``CrossEntropyLabelSmooth``; docs/reference.md §4.3).

    ``epsilon`` = 0.1: the reference's smoothing (Szegedy et al., CVPR 2016).
    """

    def __init__(self, num_classes: int, feat_dim: int, epsilon: float = 0.1) -> None:
        super().__init__(num_classes, feat_dim)
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon

    def forward(
        self, f: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        return cross_entropy_label_smooth(logits, targets, self.epsilon)
