"""The BAU objective of one batch (REFERENCE 4.3 steps 2-4 and 6).

Everything here is batch-level: reliability weights, alignment over same-identity pairs,
uniformity, the domain loss against the memory, triplet mining. Under multi-process
training the outputs of every rank are gathered *before* :func:`compute_losses`, so it
always sees the global batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from bau import losses
from bau.training.memory import MemoryBank
from bau.training.terms import enabled_terms


@dataclass
class ViewOutputs:
    """Train-mode outputs of one batch; row i of the weak and strong tensors is the same image."""

    emb_w: torch.Tensor  # pre-BN embeddings of the weak views (triplet)
    f_w: torch.Tensor  # normalised BNNeck features of the weak views
    logits_w: torch.Tensor
    f_s: torch.Tensor | None = None  # None when trained without the strong view (baseline)


def view_outputs(weak: Sequence[torch.Tensor], strong: Sequence[torch.Tensor] | None) -> ViewOutputs:
    """:class:`ViewOutputs` from the ``(emb, f, logits)`` of each view, ``f`` normalised once
    more as the reference does (losses and the memory update both use these features)."""
    emb_w, f_w, logits_w = weak
    f_s = F.normalize(strong[1], dim=1) if strong is not None else None
    return ViewOutputs(emb_w, F.normalize(f_w, dim=1), logits_w, f_s)


def compute_losses(
    out: ViewOutputs,
    y: torch.Tensor,
    d: torch.Tensor,
    memory: MemoryBank | None,
    method: Mapping[str, Any],
) -> dict[str, torch.Tensor]:
    """The unweighted loss terms that ``method`` enables, keyed by :data:`bau.training.terms.LOSS_TERMS` names."""
    terms = enabled_terms(method)
    f_w, f_s = out.f_w, out.f_s
    result = {
        "ce": losses.cross_entropy_label_smooth(out.logits_w, y, epsilon=method["label_smooth"]),
        "tri": losses.triplet_hard(out.emb_w, y, margin=method["margin"]),
    }
    if "align" in terms:
        # Reliability weights are constants (computed without gradient); None = all ones.
        weights = losses.reliability_weights(f_w, f_s, k=method["k"]) if method["weighting"] else None
        result["align"] = losses.alignment_loss(f_s, f_w, y, weights)
    t = method["uniformity_t"]
    if "uniform" in terms:
        result["uniform"] = 0.5 * (losses.uniformity_loss(f_w, t=t) + losses.uniformity_loss(f_s, t=t))
    if "domain" in terms:
        kwargs = dict(t=t, domain_specific=method["domain_specific"])
        result["domain"] = 0.5 * (
            losses.domain_uniformity_loss(f_w, d, memory.features, memory.labels, **kwargs)
            + losses.domain_uniformity_loss(f_s, d, memory.features, memory.labels, **kwargs)
        )
    return result


def total_loss(terms: Mapping[str, torch.Tensor], lam: float) -> torch.Tensor:
    weights = {"align": lam}
    return sum(weights.get(name, 1.0) * value for name, value in terms.items())
