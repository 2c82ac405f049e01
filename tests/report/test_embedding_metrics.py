"""Alignment and uniformity (Wang & Isola): hand-computed cases and parity with a direct
double loop over pairs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bau.errors import BauError
from bau.report.embedding_metrics import alignment, target_alignment_uniformity, uniformity
from tests.report.fixtures import clustered_features


def test_hand_computed_alignment_and_uniformity():
    # three points on a line: pid 1 = {0, 1}, pid 2 = {3}
    feats = np.array([[0.0], [1.0], [3.0]])
    pids = np.array([1, 1, 2])
    assert alignment(feats, pids) == pytest.approx(1.0)  # one positive pair at distance 1
    assert alignment(feats, pids, alpha=1) == pytest.approx(1.0)
    # pairs: |0-1|^2 = 1, |0-3|^2 = 9, |1-3|^2 = 4
    expected = math.log((math.exp(-2) + math.exp(-18) + math.exp(-8)) / 3)
    assert uniformity(feats) == pytest.approx(expected)
    assert uniformity(feats, t=1) == pytest.approx(math.log((math.exp(-1) + math.exp(-9) + math.exp(-4)) / 3))


def _slow_alignment(feats, pids, alpha=2.0):
    values = [
        np.linalg.norm(feats[i] - feats[j]) ** alpha
        for i, j in itertools.combinations(range(len(feats)), 2)
        if pids[i] == pids[j]
    ]
    return float(np.mean(values))


def _slow_uniformity(feats, t=2.0):
    values = [
        math.exp(-t * np.sum((feats[i] - feats[j]) ** 2)) for i, j in itertools.combinations(range(len(feats)), 2)
    ]
    return math.log(np.mean(values))


def test_parity_with_pairwise_loops():
    feats, pids = clustered_features(num_ids=7, per_id=4, dim=8, seed=3)
    order = np.random.default_rng(0).permutation(len(pids))  # identities interleaved
    feats, pids = feats[order].astype(np.float64), pids[order]
    assert alignment(feats, pids) == pytest.approx(_slow_alignment(feats, pids), rel=1e-9)
    assert alignment(feats, pids, alpha=3) == pytest.approx(_slow_alignment(feats, pids, alpha=3), rel=1e-9)
    assert uniformity(feats) == pytest.approx(_slow_uniformity(feats), rel=1e-9)


def test_uniformity_subset_is_seeded_and_large_separation_does_not_underflow():
    feats, _ = clustered_features(num_ids=20, per_id=5, dim=8, seed=1)
    a = uniformity(feats, max_points=30, seed=4)
    assert a == uniformity(feats, max_points=30, seed=4)
    assert a != uniformity(feats, max_points=30, seed=5)
    far = np.array([[0.0], [100.0]])
    assert uniformity(far) == pytest.approx(-2 * 100.0**2)  # exp underflows, log-sum-exp does not


def test_tighter_identities_align_better():
    tight, pids = clustered_features(num_ids=10, per_id=4, dim=16, spread=0.1, seed=0)
    loose, _ = clustered_features(num_ids=10, per_id=4, dim=16, spread=0.6, seed=0)
    assert alignment(tight, pids) < alignment(loose, pids)


def test_target_alignment_ignores_distractor_identities():
    # query pid 1 with a gallery match; gallery distractors share placeholder pid 0
    feats = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [-5.0, 0.0]])
    features = {"feats": feats, "pids": np.array([1, 1, 0, 0]), "is_query": np.array([True, False, False, False])}
    align, uniform = target_alignment_uniformity(features)
    assert align == pytest.approx(1.0)  # the distractor pair (distance 10) is not a positive pair
    assert uniform == pytest.approx(uniformity(feats))


def test_errors():
    with pytest.raises(BauError, match="no positive pair"):
        alignment(np.eye(3), np.array([1, 2, 3]))
    with pytest.raises(BauError, match="at least two"):
        uniformity(np.ones((1, 3)))
