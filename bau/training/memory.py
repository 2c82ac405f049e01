"""The class-prototype memory of the domain loss (official ``bau/models/memory.py``, ``MemoryBank``).

Built by :meth:`MemoryBank.from_features` from the features the trainer extracts with the
evaluation's extractor (docs/reference.md §4.1 step 4), updated after each step (§4.3 step 5).
It depends on torch only. ``features`` (N x D, one L2-normalised prototype per training
identity) and ``labels`` (N, the domain id of each identity) are module buffers, so
``state_dict()`` is the checkpoint's ``memory`` entry: ``{"features": T, "labels": T}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class MemoryBank(nn.Module):
    """Identity prototypes with domain labels; ``momentum`` = weight of the *old* prototype (0.1)."""

    features: torch.Tensor
    labels: torch.Tensor

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, momentum: float = 0.1) -> None:
        super().__init__()
        if features.dim() != 2 or labels.shape != (features.shape[0],):
            raise ValueError(
                f"memory: features must be N x D and labels N, got {tuple(features.shape)} and {tuple(labels.shape)}"
            )
        self.register_buffer("features", features.detach().float().clone())
        self.register_buffer("labels", labels.detach().long().clone())
        self.momentum = momentum

    @classmethod
    def from_features(
        cls,
        features: torch.Tensor,
        pids: torch.Tensor | Sequence[int],
        class_domains: torch.Tensor | Sequence[int],
        num_classes: int,
        momentum: float = 0.1,
    ) -> MemoryBank:
        """Prototype of class c = normalise(mean of the features of its samples).

        ``features`` has one L2-normalised row per sample, as :func:`bau.evaluation.extract_features`
        returns them; they are averaged as they are (normalising them again would change their
        last bits, and with them the run).
        """
        pids = torch.as_tensor(pids, dtype=torch.long, device=features.device)
        class_domains = torch.as_tensor(class_domains, dtype=torch.long, device=features.device)
        if class_domains.shape != (num_classes,):
            raise ValueError(f"memory: {class_domains.numel()} class domains for {num_classes} classes")
        if pids.numel() and (pids.min() < 0 or pids.max() >= num_classes):
            raise ValueError(f"memory: pids must lie in [0, {num_classes}), got [{int(pids.min())}, {int(pids.max())}]")
        counts = torch.bincount(pids, minlength=num_classes)
        if (counts == 0).any():
            empty = torch.nonzero(counts == 0).flatten()[:10].tolist()
            raise ValueError(f"memory: classes without any sample (first ones: {empty}); every identity needs an image")
        f = features.float()
        norms = f.norm(dim=1)
        if f.numel() and not torch.allclose(norms, torch.ones_like(norms), atol=1e-3):
            raise ValueError(
                f"memory: features must be L2-normalised rows (extract_features' output), got norms in "
                f"[{float(norms.min()):.4g}, {float(norms.max()):.4g}]"
            )
        sums = torch.zeros(num_classes, f.shape[1], dtype=f.dtype, device=f.device).index_add_(0, pids, f)
        return cls(F.normalize(sums / counts.unsqueeze(1), dim=1), class_domains, momentum)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor], momentum: float = 0.1) -> MemoryBank:
        return cls(state["features"], state["labels"], momentum)

    @torch.no_grad()
    def update(self, f: torch.Tensor, y: torch.Tensor, momentum: float | None = None) -> None:
        """The reference's sequential update, vectorised over identities.

        Sequentially, for i in batch order: c[y_i] = m c[y_i] + (1 - m) f_i, then c[y_i] /= ||c[y_i]||.
        Identities do not interact, so the r-th occurrences of all identities in the batch are
        updated together, for r = 0, 1, ... (at most K rounds for K instances per identity).
        """
        m = self.momentum if momentum is None else momentum
        y = y.long().to(self.features.device)
        f = f.to(self.features)
        rank = occurrence_rank(y)
        for r in range(int(rank.max()) + 1 if y.numel() else 0):
            chosen = rank == r
            ids = y[chosen]  # distinct identities
            self.features[ids] = F.normalize(m * self.features[ids] + (1 - m) * f[chosen], dim=1)


def occurrence_rank(y: torch.Tensor) -> torch.Tensor:
    """rank[i] = number of j < i with y[j] == y[i] (0 for a label's first occurrence)."""
    order = torch.argsort(y, stable=True)
    _, counts = torch.unique_consecutive(y[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(y.numel(), device=y.device) - torch.repeat_interleave(starts, counts)
    return rank
