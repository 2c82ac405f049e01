"""bau.metrics.rerank against a dense loop-by-loop transcription of the original algorithm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bau.metrics import evaluate_distances, evaluate_rank
from bau.metrics.rerank import reranked_distance_chunks
from tests.metrics.dense_rerank import dense_rerank
from tests.metrics.slow_reference import squared_distances

# float32 throughout; the sparse version sums in another order: differences of a few ulp.
TOLERANCE = 1e-5


def features(seed: int, num_q: int, num_g: int, dim: int, ids: int = 12):
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, ids, num_q), rng.integers(0, ids, num_g)
    centres = rng.normal(size=(ids, dim))
    qf = centres[q_pids] + 0.8 * rng.normal(size=(num_q, dim))
    gf = centres[g_pids] + 0.8 * rng.normal(size=(num_g, dim))
    qf = (qf / np.linalg.norm(qf, axis=1, keepdims=True)).astype(np.float32)
    gf = (gf / np.linalg.norm(gf, axis=1, keepdims=True)).astype(np.float32)
    return qf, gf, q_pids, g_pids


def dense(qf, gf, **params):
    return dense_rerank(squared_distances(qf, gf), squared_distances(qf, qf), squared_distances(gf, gf), **params)


def sparse(qf, gf, **params):
    return torch.cat(list(reranked_distance_chunks(torch.tensor(qf), torch.tensor(gf), **params))).numpy()


@pytest.mark.parametrize(("num_q", "num_g", "dim", "chunk_size"), [(12, 70, 8, 5), (30, 110, 6, 256), (4, 45, 5, 1)])
def test_matches_dense_original(num_q, num_g, dim, chunk_size):
    qf, gf, _, _ = features(num_q + num_g, num_q, num_g, dim)
    np.testing.assert_allclose(sparse(qf, gf, chunk_size=chunk_size), dense(qf, gf), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("params", [{"k1": 8, "k2": 3, "lambda_value": 0.5}, {"k1": 10, "k2": 1, "lambda_value": 0.1}])
def test_matches_dense_original_with_other_parameters(params):
    qf, gf, _, _ = features(3, 15, 60, 6)
    np.testing.assert_allclose(sparse(qf, gf, **params), dense(qf, gf, **params), atol=TOLERANCE, rtol=0)


def test_evaluate_rank_reranks():
    qf, gf, q_pids, g_pids = features(11, 20, 90, 6)
    q_cams, g_cams = np.zeros(20, dtype=int), np.ones(90, dtype=int)
    reranked = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams, rerank=True, chunk_size=7)
    expected = evaluate_distances(dense(qf, gf), q_pids, g_pids, q_cams, g_cams)
    assert reranked["mAP"] == pytest.approx(expected["mAP"], abs=1e-9)
    np.testing.assert_allclose(reranked["cmc"], expected["cmc"], atol=1e-9)
    plain = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams)
    assert reranked["mAP"] != pytest.approx(plain["mAP"])  # re-ranking changed the ranking
