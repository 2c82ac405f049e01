"""Re-identification metrics: exact mAP, CMC and mINP (``rank``) and k-reciprocal re-ranking (``rerank``)."""

from bau.metrics.rank import evaluate_distances, evaluate_rank

__all__ = ["evaluate_distances", "evaluate_rank"]
