"""Alignment and uniformity of a feature set (Wang & Isola, ICML 2020), as in the paper's
Figures 1 and 4.

    align   = E over positive pairs (x, y) of ||f(x) - f(y)||^alpha          (alpha = 2)
    uniform = log E over all pairs (x, y) of exp(-t ||f(x) - f(y)||^2)       (t = 2)

Both are "lower is better". Positive pairs are two different images of one identity; pairs
are unordered (each counted once, as ``scipy.spatial.distance.pdist`` lists them).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial.distance import pdist
from scipy.special import logsumexp

from bau.errors import BauError


def alignment(feats: np.ndarray, pids: np.ndarray, alpha: float = 2.0) -> float:
    """Mean ``||f_x - f_y||^alpha`` over all pairs of different images with the same pid."""
    feats = np.asarray(feats, dtype=np.float64)
    pids = np.asarray(pids)
    order = np.argsort(pids, kind="stable")
    _, starts, counts = np.unique(pids[order], return_index=True, return_counts=True)
    total, pairs = 0.0, 0
    for start, count in zip(starts, counts):
        if count < 2:
            continue
        group = feats[order[start : start + count]]
        total += float(np.sum(pdist(group, "euclidean") ** alpha))
        pairs += count * (count - 1) // 2
    if pairs == 0:
        raise BauError("alignment needs at least one identity with two images; no positive pair found")
    return total / pairs


def uniformity(feats: np.ndarray, t: float = 2.0, max_points: int | None = 5000, seed: int = 0) -> float:
    """``log`` of the mean Gaussian potential ``exp(-t ||f_x - f_y||^2)`` over all pairs.

    With more than ``max_points`` rows, a seeded random subset of that size is used (the
    number of pairs grows quadratically); the estimate is unbiased for the mean potential.
    """
    feats = np.asarray(feats, dtype=np.float64)
    if len(feats) < 2:
        raise BauError("uniformity needs at least two feature vectors")
    if max_points is not None and len(feats) > max_points:
        rows = np.random.default_rng(seed).choice(len(feats), size=max_points, replace=False)
        feats = feats[rows]
    squared = pdist(feats, "sqeuclidean")
    # log-mean-exp without underflow for well-separated features
    return float(logsumexp(-t * squared) - np.log(len(squared)))


def target_alignment_uniformity(
    features: Mapping[str, np.ndarray], *, max_points: int | None = 5000, seed: int = 0
) -> tuple[float, float]:
    """(align, uniform) of a target's test features (the npz of ``bau evaluate``).

    Uniformity uses every query and gallery feature. Alignment uses the identities that
    appear among the queries, so gallery distractors sharing a placeholder pid (Market-1501
    and GRID use pid 0 for them) never count as positive pairs.
    """
    feats, pids = features["feats"], np.asarray(features["pids"])
    query_ids = np.unique(pids[np.asarray(features["is_query"], dtype=bool)])
    keep = np.isin(pids, query_ids)
    return alignment(feats[keep], pids[keep]), uniformity(feats, max_points=max_points, seed=seed)
