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
from bau.memory import MemoryBank

#: Loss terms in the order they are logged; L = ce + tri + lam * align + uniform + domain,
#: ``ce`` being the identity loss (``method.id_loss``).
LOSS_TERMS = ("ce", "tri", "align", "uniform", "domain")


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


def enabled_terms(method: Mapping[str, Any]) -> tuple[str, ...]:
    """The loss terms a ``method`` config switches on; without the strong view only CE + Tri."""
    if not method["strong_view"]:
        return ("ce", "tri")
    switches = {"align": method["alignment"], "uniform": method["uniformity"], "domain": method["domain"]}
    return ("ce", "tri") + tuple(name for name, on in switches.items() if on)


def compute_losses(
    out: ViewOutputs,
    y: torch.Tensor,
    d: torch.Tensor,
    memory: MemoryBank | None,
    method: Mapping[str, Any],
    id_loss: losses.IdentityLoss | None = None,
    class_weight: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The unweighted loss terms that ``method`` enables, keyed by :data:`LOSS_TERMS` names.

    ``ce`` is the identity loss ``method.id_loss`` (the cross-entropy by default): ``id_loss``,
    built here when None (only for losses without parameters of their own), on the weak views
    with ``class_weight``, the model's classifier weight.
    """
    terms = enabled_terms(method)
    f_w, f_s = out.f_w, out.f_s
    if id_loss is None:
        id_loss = losses.create_id_loss(method["id_loss"], out.logits_w.shape[1], f_w.shape[1])
        if any(True for _ in id_loss.parameters()):
            raise ValueError(
                f"identity loss {method['id_loss']['name']!r} has parameters: build it once with "
                "bau.losses.create_id_loss and pass it as id_loss"
            )
    result = {
        "ce": id_loss(f_w, out.logits_w, class_weight, y),
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
