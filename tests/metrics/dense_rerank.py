"""A direct, dense, loop-by-loop numpy transcription of the original k-reciprocal re-ranking.

Written from the algorithm's description (Zhong et al. 2017, as used by the reference's
``utils/rerank.py``) to test the sparse implementation against; only for small inputs.
"""

from __future__ import annotations

import numpy as np


def dense_rerank(q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray, k1=20, k2=6, lambda_value=0.3) -> np.ndarray:
    num_q = q_g.shape[0]
    full = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float32)
    full = np.power(full, 2).astype(np.float32)
    original = np.transpose(full / np.max(full, axis=0))
    n = original.shape[0]
    ranking = np.argsort(original, axis=1, kind="stable")

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = ranking[i, : k + 1]
        return np.array([j for j in forward if i in ranking[j, : k + 1]], dtype=int)

    v = np.zeros((n, n), dtype=np.float32)
    for i in range(n):
        base = reciprocal(i, k1)
        expanded = list(base)
        for c in base:
            cand = reciprocal(c, int(np.around(k1 / 2.0)))
            if len(np.intersect1d(cand, base)) > 2.0 / 3.0 * len(cand):
                expanded.extend(cand)
        expanded = np.unique(expanded)
        weight = np.exp(-original[i, expanded])
        v[i, expanded] = weight / np.sum(weight)

    if k2 != 1:
        v = np.stack([v[ranking[i, :k2]].mean(axis=0) for i in range(n)])

    jaccard = np.zeros((num_q, n), dtype=np.float32)
    for i in range(num_q):
        shared = np.zeros(n, dtype=np.float32)
        for k in np.flatnonzero(v[i]):
            for j in np.flatnonzero(v[:, k]):
                shared[j] += min(v[i, k], v[j, k])
        jaccard[i] = 1 - shared / (2.0 - shared)

    final = jaccard * (1 - lambda_value) + original[:num_q] * lambda_value
    return final[:, num_q:]
