"""Losses of one batch: the BAU terms and the identity losses.

- :mod:`bau.losses.bau_terms`: batch-hard triplet, reliability weights, alignment, uniformity
  and the domain loss (docs/reference.md §4.3);
- :mod:`bau.losses.identity`: the identity losses, a registry (``ce``, ``arcface``, ``pcl``)
  that ``method.id_loss`` picks from; :func:`create_id_loss` builds one.
"""

from bau.losses.bau_terms import (
    FAR,
    alignment_loss,
    domain_uniformity_loss,
    reliability_weights,
    squared_euclidean,
    triplet_hard,
    uniformity_loss,
)
from bau.losses.identity import (
    IdentityLoss,
    create_id_loss,
    cross_entropy_label_smooth,
    list_id_losses,
    register_id_loss,
)

__all__ = [
    "FAR",
    "IdentityLoss",
    "alignment_loss",
    "create_id_loss",
    "cross_entropy_label_smooth",
    "domain_uniformity_loss",
    "list_id_losses",
    "register_id_loss",
    "reliability_weights",
    "squared_euclidean",
    "triplet_hard",
    "uniformity_loss",
]
