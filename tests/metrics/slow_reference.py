"""A slow, obviously-correct evaluator to test the fast one against.

Full distance matrix, a stable argsort per query, scikit-learn's average precision; the
structure of the reference's ``evaluation_metrics/ranking.py`` with ties broken by gallery
index (the order ``bau.metrics.rank`` documents).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score


def slow_metrics(dist: np.ndarray, q_pids, g_pids, q_cams, g_cams, max_rank: int = 50) -> dict:
    dist = np.asarray(dist, dtype=np.float32)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    aps, inps = [], []
    first_match = np.zeros(max_rank)
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        valid = (g_pids[order] != q_pids[i]) | (g_cams[order] != q_cams[i])
        matches = g_pids[order][valid] == q_pids[i]
        if not matches.any():
            continue
        aps.append(average_precision_score(matches, -dist[i][order][valid]))
        hits = np.flatnonzero(matches)
        inps.append(len(hits) / (hits[-1] + 1))
        if hits[0] < max_rank:
            first_match[hits[0]] += 1
    if not aps:
        raise RuntimeError("no valid query")
    return {"mAP": float(np.mean(aps)), "mINP": float(np.mean(inps)), "cmc": first_match.cumsum() / len(aps)}


def squared_distances(qf: np.ndarray, gf: np.ndarray) -> np.ndarray:
    """|q|^2 + |g|^2 - 2 q.g in float32 with torch, as the reference computes it."""
    import torch

    x, y = torch.as_tensor(qf, dtype=torch.float32), torch.as_tensor(gf, dtype=torch.float32)
    dist = x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1)[None, :]
    return dist.addmm_(x, y.t(), beta=1, alpha=-2).numpy()
