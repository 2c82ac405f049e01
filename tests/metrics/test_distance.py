"""bau.metrics.distance: the official formula's exact numbers, chunked or not."""

from __future__ import annotations

import torch

from bau.metrics.distance import (
    squared_euclidean,
    squared_euclidean_chunks,
    squared_norms,
)


def features(n: int, dim: int = 33, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_squared_norms_are_the_official_expression_bit_for_bit():
    x = features(150)
    for rows in (1, 7, 64, 150, 1000):
        assert torch.equal(squared_norms(x, rows_per_block=rows), x.pow(2).sum(1))
    assert squared_norms(features(0)).shape == (0,)


def test_squared_euclidean_is_the_official_expression_bit_for_bit():
    q, g = features(20, seed=1), features(45, seed=2)
    official = q.pow(2).sum(1, keepdim=True).expand(20, 45) + g.pow(2).sum(1, keepdim=True).expand(45, 20).t()
    official = official.addmm_(q, g.t(), beta=1, alpha=-2)
    assert torch.equal(squared_euclidean(q, g), official)
    assert torch.equal(squared_euclidean(q, g, g_norms=squared_norms(g), out=torch.empty(20, 45)), official)


def test_chunks_reused_or_not_give_the_rows_of_the_full_matrix():
    q, g = features(23, seed=3), features(40, seed=4)
    full = squared_euclidean(q, g)
    fresh = list(squared_euclidean_chunks(q, g, 5))
    # The product of 5 rows may take another BLAS kernel than that of 23 (it does on AVX2-only
    # CPUs): equal to float32 rounding, not always bit for bit.
    torch.testing.assert_close(torch.cat(fresh), full, rtol=1e-6, atol=1e-5)
    assert torch.equal(torch.cat(list(squared_euclidean_chunks(q, g, len(q)))), full)
    reused = [chunk.clone() for chunk in squared_euclidean_chunks(q, g, 5, reuse=True)]
    assert torch.equal(torch.cat(reused), torch.cat(fresh))  # same shapes, same kernel
    assert [len(c) for c in reused] == [5, 5, 5, 5, 3]
