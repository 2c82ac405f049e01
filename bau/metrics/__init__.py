"""Re-identification metrics: exact mAP, CMC and mINP (``rank``), k-reciprocal re-ranking (``rerank``),
both on the official squared Euclidean distances (``distance``)."""

from bau.metrics.rank import evaluate_distances, evaluate_rank

__all__ = ["evaluate_distances", "evaluate_rank"]
