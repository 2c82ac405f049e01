"""The re-ID head shared by every backbone, and the model built around it (docs/reference.md §3).

A :class:`ReIDModel` is ``base`` (backbone) -> ``pool`` -> flatten = ``emb`` -> ``bn_neck`` ->
``classifier``. Attribute names are the reference's (``base``, ``pool``, ``bn_neck``,
``classifier``), so a state dict of this package and one of the reference differ only by the
``module.`` prefix DataParallel adds.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


class TrainOutputs(NamedTuple):
    """Train-mode outputs; unpacks as ``emb, f, logits``."""

    emb: torch.Tensor  # pooled backbone feature, before the BNNeck (triplet loss)
    f: torch.Tensor  # L2-normalised BNNeck output
    logits: torch.Tensor | None  # classifier applied to the *un-normalised* BNNeck output; None without classifier


class BNNeck(nn.BatchNorm1d):
    """BatchNorm1d with weight 1, bias 0 and the bias frozen (never trained, never decayed)."""

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features)
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)
        self.bias.requires_grad_(False)


class ReIDModel(nn.Module):
    """Backbone + pooling + BNNeck + bias-free classifier with the reference's outputs.

    Training mode returns :class:`TrainOutputs`; eval mode returns the L2-normalised BNNeck
    feature (BN running statistics). ``num_classes == 0`` builds no classifier (inference).
    Subclasses say where their ImageNet weights come from and how the key names of foreign
    weight files (torchvision, timm) map onto theirs; :mod:`bau.models.weights` uses both.
    """

    #: (foreign prefix, own prefix) pairs tried, in order, for keys of a weights file that are
    #: not already keys of this model; "" matches every key.
    foreign_prefixes: tuple[tuple[str, str], ...] = ()

    def __init__(self, base: nn.Module, pool: nn.Module, feat_dim: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0 (0 = no classifier), got {num_classes}")
        self.base = base
        self.pool = pool
        self.bn_neck = BNNeck(feat_dim)
        self.classifier = nn.Linear(feat_dim, num_classes, bias=False) if num_classes > 0 else None
        self.feat_dim = feat_dim
        #: arch, num_classes, height, width: set by :func:`bau.models.create_model`, saved in checkpoints.
        self.model_config: dict[str, Any] = {}

    def forward(self, x: torch.Tensor) -> TrainOutputs | torch.Tensor:
        emb = self.pool(self.base(x)).flatten(1)
        f = self.bn_neck(emb)
        if not self.training:
            return F.normalize(f)
        logits = self.classifier(f) if self.classifier is not None else None
        return TrainOutputs(emb, F.normalize(f), logits)

    def imagenet_state_dict(self) -> dict[str, torch.Tensor]:
        """The ImageNet weights of the backbone, in their source's key names.

        Raises :class:`bau.errors.ConfigError` naming the weights and how to supply them as a
        local file when they cannot be fetched.
        """
        raise NotImplementedError(f"{type(self).__name__} has no ImageNet weights")

    def adapt_weight(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """Hook to reshape a foreign tensor for ``key`` (e.g. a ViT position embedding)."""
        return value
