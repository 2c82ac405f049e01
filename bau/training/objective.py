"""The BAU objective of one batch (docs/reference.md §4.3 steps 2-4 and 6).

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
from bau.training.terms import effective_switches, enabled_terms


@dataclass
class ViewOutputs:
    """Train-mode outputs of one batch; row i of the weak and strong tensors is the same image."""

    emb_w: torch.Tensor  # pre-BN embeddings of the weak views (triplet)
    f_w: torch.Tensor  # normalised BNNeck features of the weak views
    logits_w: torch.Tensor
    f_s: torch.Tensor | None = None  # None when trained without the strong view (baseline)
    # Read only by method.strong_id_loss (the paper's Table 5 "L_ce" row).
    emb_s: torch.Tensor | None = None
    logits_s: torch.Tensor | None = None


def view_outputs(
    weak: Sequence[torch.Tensor], strong: Sequence[torch.Tensor] | None, *, strong_id: bool = False
) -> ViewOutputs:
    """:class:`ViewOutputs` from the ``(emb, f, logits)`` of each view, ``f`` normalised once
    more as the reference does (losses and the memory update both use these features).
    ``strong_id``: keep the strong view's embeddings and logits (``method.strong_id_loss``;
    otherwise they are dropped, so multi-process training does not gather them)."""
    emb_w, f_w, logits_w = weak
    if strong is None:
        return ViewOutputs(emb_w, F.normalize(f_w, dim=1), logits_w)
    emb_s, f_s, logits_s = strong
    extra = (emb_s, logits_s) if strong_id else (None, None)
    return ViewOutputs(emb_w, F.normalize(f_w, dim=1), logits_w, F.normalize(f_s, dim=1), *extra)


def compute_losses(
    out: ViewOutputs,
    y: torch.Tensor,
    d: torch.Tensor,
    memory: MemoryBank | None,
    method: Mapping[str, Any],
    id_loss: losses.IdentityLoss | None = None,
    class_weight: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The unweighted loss terms that ``method`` enables, keyed by :data:`bau.training.terms.LOSS_TERMS`
    names.

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
    if effective_switches(method)["strong_id_loss"]:
        # The paper's Table 5 "L_ce" row: augmented images trained as extra samples with the
        # identity losses, each view on its own (a triplet mined across views would align them).
        if out.emb_s is None or out.logits_s is None:
            raise ValueError("method.strong_id_loss needs the strong view's embeddings and logits")
        result["ce"] = 0.5 * (result["ce"] + id_loss(f_s, out.logits_s, class_weight, y))
        result["tri"] = 0.5 * (result["tri"] + losses.triplet_hard(out.emb_s, y, margin=method["margin"]))
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
