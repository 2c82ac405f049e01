"""Loss functions of one batch (docs/reference.md §4.3)."""

from bau.losses.bau_terms import (
    FAR,
    alignment_loss,
    cross_entropy_label_smooth,
    domain_uniformity_loss,
    reliability_weights,
    squared_euclidean,
    triplet_hard,
    uniformity_loss,
)

__all__ = [
    "FAR",
    "alignment_loss",
    "cross_entropy_label_smooth",
    "domain_uniformity_loss",
    "reliability_weights",
    "squared_euclidean",
    "triplet_hard",
    "uniformity_loss",
]
