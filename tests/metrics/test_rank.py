"""bau.metrics.rank: hand-computed rankings, parity with a slow evaluator, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from bau.errors import DatasetError
from bau.metrics import evaluate_distances, evaluate_rank
from tests.metrics.slow_reference import slow_metrics, squared_distances


def one_query(distances, g_pids, g_cams, q_pid=1, q_cam=0, max_rank=5):
    return evaluate_distances(np.array([distances], dtype=np.float32), [q_pid], g_pids, [q_cam], g_cams, max_rank)


def test_hand_made_ranking_with_junk_and_distractor():
    # valid ranking: a(+) b(-) d(-) f(-, distractor pid 0) e(+); c is the same pid on the
    # query's camera (junk) and is removed although it is the closest.
    #          a    b    c     d    e    f
    dist = [0.1, 0.2, 0.05, 0.3, 0.4, 0.35]
    pids = [1, 2, 1, 3, 1, 0]
    cams = [1, 0, 0, 1, 2, 1]
    result = one_query(dist, pids, cams)
    assert result["mAP"] == pytest.approx((1 / 1 + 2 / 5) / 2)
    assert result["mINP"] == pytest.approx(2 / 5)
    np.testing.assert_array_equal(result["cmc"], [1, 1, 1, 1, 1])
    assert result["num_valid_queries"] == 1


def test_first_match_rank_and_max_rank():
    # the only positive is 3rd among valid items; the junk item before it does not count
    result = one_query([0.1, 0.2, 0.25, 0.3, 0.4], [5, 6, 1, 1, 7], [0, 1, 0, 3, 2], max_rank=2)
    np.testing.assert_array_equal(result["cmc"], [0, 0])  # rank 3 > max_rank: a miss, still counted
    assert result["mAP"] == pytest.approx(1 / 3)
    assert result["mINP"] == pytest.approx(1 / 3)
    result = one_query([0.1, 0.2, 0.25, 0.3, 0.4], [5, 6, 1, 1, 7], [0, 1, 0, 3, 2], max_rank=4)
    np.testing.assert_array_equal(result["cmc"], [0, 0, 1, 1])


def test_tied_distances_form_one_threshold_like_sklearn():
    # p1 at 0.1, then a negative and a positive tied at 0.2, then a negative
    dist, pids, cams = [0.1, 0.2, 0.2, 0.3], [1, 4, 1, 5], [1, 1, 2, 1]
    result = one_query(dist, pids, cams)
    expected = average_precision_score([1, 0, 1, 0], [-0.1, -0.2, -0.2, -0.3])
    assert expected == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert result["mAP"] == pytest.approx(expected)
    # the AP does not depend on which of the tied items has the lower gallery index
    swapped = one_query([0.1, 0.2, 0.2, 0.3], [1, 1, 4, 5], [1, 2, 1, 1])
    assert swapped["mAP"] == pytest.approx(expected)


def test_ties_order_cmc_and_minp_by_gallery_index():
    # last positive tied with a negative: the lower gallery index ranks first
    negative_first = one_query([0.1, 0.2, 0.2], [1, 4, 1], [1, 1, 2])
    positive_first = one_query([0.1, 0.2, 0.2], [1, 1, 4], [1, 2, 1])
    assert negative_first["mINP"] == pytest.approx(2 / 3)
    assert positive_first["mINP"] == pytest.approx(2 / 2)
    # first positive tied with a negative
    negative_first = one_query([0.3, 0.3, 0.5], [4, 1, 1], [1, 1, 2])
    positive_first = one_query([0.3, 0.3, 0.5], [1, 4, 1], [1, 1, 2])
    np.testing.assert_array_equal(negative_first["cmc"][:2], [0, 1])
    np.testing.assert_array_equal(positive_first["cmc"][:2], [1, 1])


def test_negative_zero_ties_with_zero():
    # sklearn sees -0.0 and +0.0 as one score: the negative shares the positive's threshold
    result = one_query([-0.0, 0.0], [3, 1], [1, 1])
    assert result["mAP"] == pytest.approx(average_precision_score([0, 1], [0.0, -0.0])) == pytest.approx(0.5)


def test_query_without_valid_match_is_skipped():
    # query 0 only has its pid on its own camera; query 1 has a match at rank 2
    dist = np.array([[0.1, 0.2, 0.3], [0.1, 0.3, 0.2]], dtype=np.float32)
    result = evaluate_distances(dist, [1, 2], [1, 3, 2], [0, 0], [0, 1, 1], max_rank=3)
    assert result["num_valid_queries"] == 1
    assert result["mAP"] == pytest.approx(1 / 2)
    np.testing.assert_array_equal(result["cmc"], [0, 1, 1])
    reversed_queries = evaluate_distances(dist[::-1].copy(), [2, 1], [1, 3, 2], [0, 0], [0, 1, 1], max_rank=3)
    assert reversed_queries["mAP"] == result["mAP"] and reversed_queries["num_valid_queries"] == 1


def test_no_valid_query_is_an_error():
    with pytest.raises(DatasetError, match="none of the 2 queries has a valid match"):
        evaluate_distances(np.zeros((2, 2)), [1, 2], [1, 2], [0, 0], [0, 0])


def test_mean_over_queries():
    dist = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], dtype=np.float32)
    result = evaluate_distances(dist, [1, 1], [1, 2, 1], [0, 0], [1, 1, 1], max_rank=3)
    # query 0: positives at ranks 1 and 3 -> AP (1 + 2/3) / 2, INP 2/3; query 1: ranks 1 and 3 too
    assert result["mAP"] == pytest.approx((1 + 2 / 3) / 2)
    assert result["mINP"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(result["cmc"], [1, 1, 1])


def random_problem(seed: int, num_q=40, num_g=250, dim=12, ids=15, cams=4):
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, ids, num_q), rng.integers(0, ids + 5, num_g)  # some distractor ids
    q_cams, g_cams = rng.integers(0, cams, num_q), rng.integers(0, cams, num_g)
    centres = rng.normal(size=(ids + 5, dim))
    qf = centres[q_pids] + rng.normal(size=(num_q, dim))
    gf = centres[g_pids] + rng.normal(size=(num_g, dim))
    qf = (qf / np.linalg.norm(qf, axis=1, keepdims=True)).astype(np.float32)
    gf = (gf / np.linalg.norm(gf, axis=1, keepdims=True)).astype(np.float32)
    return qf, gf, q_pids, g_pids, q_cams, g_cams


def assert_same_metrics(ours, slow):
    assert ours["mAP"] == pytest.approx(slow["mAP"], abs=1e-12)
    assert ours["mINP"] == pytest.approx(slow["mINP"], abs=1e-12)
    np.testing.assert_allclose(ours["cmc"], slow["cmc"], atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_parity_with_slow_evaluator_on_random_features(seed):
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(seed)
    ours = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams, max_rank=20, chunk_size=16)
    slow = slow_metrics(squared_distances(qf, gf), q_pids, g_pids, q_cams, g_cams, max_rank=20)
    assert 0.05 < ours["mAP"] < 0.95  # a non-trivial ranking
    assert_same_metrics(ours, slow)


@pytest.mark.parametrize("seed", range(4))
def test_parity_with_many_ties(seed):
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(seed, cams=2)
    dist = np.round(squared_distances(qf, gf) * 8) / 8 - 0.5  # coarse: many ties, some negative
    ours = evaluate_distances(torch.tensor(dist), q_pids, g_pids, q_cams, g_cams, max_rank=10)
    assert_same_metrics(ours, slow_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10))


def test_chunk_size_does_not_change_the_result():
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(7, num_q=37)
    results = [evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams, chunk_size=c) for c in (1, 5, 16, 37, None)]
    for result in results[1:]:
        assert_same_metrics(result, results[0])
    dist = np.round(squared_distances(qf, gf) * 8) / 8
    full = evaluate_distances(dist, q_pids, g_pids, q_cams, g_cams)
    chunked = evaluate_distances(torch.tensor(dist).split(6), q_pids, g_pids, q_cams, g_cams)
    assert_same_metrics(chunked, full)


def test_bad_input_is_reported():
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(0, num_q=4, num_g=10)
    with pytest.raises(ValueError, match="8-d"):
        evaluate_rank(qf, gf[:, :8], q_pids, g_pids, q_cams, g_cams)
    with pytest.raises(ValueError, match="does not fit"):
        evaluate_rank(qf, gf, q_pids, g_pids[:9], q_cams, g_cams[:9])
    with pytest.raises(ValueError, match="query camids"):
        evaluate_rank(qf, gf, q_pids, g_pids, q_cams[:3], g_cams)
    qf[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams)


# Marked ``cuda``: benchmarks/gpu_check.py runs them with ``pytest -m cuda``.
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("seed", range(2))
def test_gpu_features_give_the_cpu_result(seed):
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(seed)
    cpu = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams)
    gpu = evaluate_rank(torch.tensor(qf).cuda(), torch.tensor(gf).cuda(), q_pids, g_pids, q_cams, g_cams)
    assert gpu["mAP"] == pytest.approx(cpu["mAP"], abs=1e-6)  # two GEMMs: last-bit differences


@pytest.mark.cuda
@needs_cuda
def test_gpu_ranking_of_tied_distances_equals_cpu():
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(5, cams=2)
    dist = torch.tensor(np.round(squared_distances(qf, gf) * 8) / 8)
    cpu = evaluate_distances(dist, q_pids, g_pids, q_cams, g_cams)
    gpu = evaluate_distances(dist.cuda().split(7), q_pids, g_pids, q_cams, g_cams)
    assert_same_metrics(gpu, cpu)


@pytest.mark.cuda
@needs_cuda
def test_gpu_rerank_gives_the_cpu_result():
    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(6)
    cpu = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams, rerank=True)
    gpu = evaluate_rank(torch.tensor(qf).cuda(), torch.tensor(gf).cuda(), q_pids, g_pids, q_cams, g_cams, rerank=True)
    assert gpu["mAP"] == pytest.approx(cpu["mAP"], abs=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_counting_pass_matches_reference_with_ties_junk_and_unmatched_queries(seed):
    # Integer distances in a narrow range: most negatives tie with some positive; 2 cameras
    # make many same-camera matches junk, and some queries have no valid match at all.
    rng = np.random.default_rng(100 + seed)
    num_q, num_g = 60, 300
    q_pids, g_pids = rng.integers(0, 40, num_q), rng.integers(0, 30, num_g)  # pids 30+: no match
    q_cams, g_cams = rng.integers(0, 2, num_q), rng.integers(0, 2, num_g)
    dist = rng.integers(-3, 6, (num_q, num_g)).astype(np.float32) / 4
    slow = slow_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=50)
    valid = (g_pids[None, :] == q_pids[:, None]) & (g_cams[None, :] != q_cams[:, None])
    assert 0 < valid.any(1).sum() < num_q  # some queries are skipped
    for chunks in ([torch.tensor(dist)], list(torch.tensor(dist).split(7))):
        ours = evaluate_distances(chunks, q_pids, g_pids, q_cams, g_cams, max_rank=50)
        assert_same_metrics(ours, slow)


def test_true_indices_at_every_density():
    from bau.metrics.rank import _true_indices

    rng = np.random.default_rng(0)
    for density in (0.0, 0.01, 0.05, 0.5, 1.0):
        mask = torch.tensor(rng.random(8 * 37 + 3) < density)
        mask[[0, len(mask) - 1]] = density > 0
        np.testing.assert_array_equal(_true_indices(mask).numpy(), np.flatnonzero(mask.numpy()))


def test_rank_keys_order_rows_then_values_then_columns():
    from bau.metrics.rank import _col_bits, _rank_key, _row_term

    rng = np.random.default_rng(1)
    n_rows, n_cols = 9, 1000
    rows, cols = rng.integers(0, n_rows, 4000), rng.integers(0, n_cols, 4000)
    # negative values, both zeros, ties, extremes of float32
    pool = np.array([-3.5, -1e-30, -0.0, 0.0, 1e-30, 0.25, 0.25, 2.0, 3.4e38, -3.4e38], dtype=np.float32)
    values = pool[rng.integers(0, len(pool), 4000)]
    bits = _col_bits(n_cols)
    key = _rank_key(
        torch.tensor(values), torch.tensor(rows * n_cols + cols), _row_term(torch.tensor(rows), n_cols, bits), bits
    ).numpy()
    expected = np.lexsort((cols, values + np.float32(0), rows))  # -0.0 == 0.0 as numbers
    assert np.all(np.diff(key[expected]) >= 0)
    same = (rows[expected][1:] == rows[expected][:-1]) & (values[expected][1:] == values[expected][:-1])
    same &= cols[expected][1:] == cols[expected][:-1]
    np.testing.assert_array_equal(np.diff(key[expected]) == 0, same)  # equal keys only for equal triples


def test_gallery_size_limit_of_the_keys():
    from bau.metrics.rank import _col_bits, max_block_rows

    assert max_block_rows(82161) == 1 << 14  # MSMT17's gallery: 17 column bits
    assert max_block_rows(2) == 1 << 30
    with pytest.raises(ValueError, match="too large to rank"):
        _col_bits(2**30 + 1)


def test_row_blocks_and_threads_do_not_change_the_result(monkeypatch):
    import bau.metrics.rank as rank

    qf, gf, q_pids, g_pids, q_cams, g_cams = random_problem(3, num_q=45)
    dist = torch.tensor(np.round(squared_distances(qf, gf) * 8) / 8)  # ties too
    slow = slow_metrics(dist.numpy(), q_pids, g_pids, q_cams, g_cams, max_rank=50)
    slow_features = slow_metrics(squared_distances(qf, gf), q_pids, g_pids, q_cams, g_cams, max_rank=50)
    threads = torch.get_num_threads()
    try:
        for num_threads, block_rows in ((1, None), (2, None), (3, None), (2, 4), (1, 1)):
            torch.set_num_threads(num_threads)
            if block_rows is not None:  # as if the gallery were too large for whole chunks in one key
                monkeypatch.setattr(rank, "max_block_rows", lambda _, rows=block_rows: rows)
            assert_same_metrics(evaluate_distances(dist.split(20), q_pids, g_pids, q_cams, g_cams), slow)
            ours = evaluate_rank(qf, gf, q_pids, g_pids, q_cams, g_cams, chunk_size=17)
            assert_same_metrics(ours, slow_features)
    finally:
        torch.set_num_threads(threads)
