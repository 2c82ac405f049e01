"""Each loss term against a hand-computed case and an explicit float64 loop of docs/reference.md §4.3."""

from __future__ import annotations

import logging
import math

import pytest
import torch
import torch.nn.functional as F

from bau import losses
from bau.losses import bau_terms


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float64), dim=1)


def random_unit(n, d, generator):
    return F.normalize(torch.randn(n, d, generator=generator, dtype=torch.float64), dim=1)


def sqdist(a, b):
    return sum((float(x) - float(y)) ** 2 for x, y in zip(a, b))


# ------------------------------------------------------------------ cross entropy


def loop_cross_entropy(logits, targets, eps):
    n_classes = logits.shape[1]
    total = 0.0
    for row, target in zip(logits.tolist(), targets.tolist()):
        lse = math.log(sum(math.exp(v) for v in row))
        for c, v in enumerate(row):
            q = (1 - eps) * (c == target) + eps / n_classes
            total += -q * (v - lse)
    return total / len(targets)


def test_cross_entropy_hand_case():
    # logits (1, 0, 0), target 0: q0 = 0.9 + 0.1/3; loss = logsumexp - q0 * 1
    loss = losses.cross_entropy_label_smooth(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), torch.tensor([0]))
    assert loss.item() == pytest.approx(math.log(math.e + 2) - (0.9 + 0.1 / 3), abs=1e-12)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_cross_entropy_matches_loop(eps):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 5, generator=g, dtype=torch.float64) * 3
    targets = torch.randint(0, 5, (7,), generator=g)
    got = losses.cross_entropy_label_smooth(logits, targets, epsilon=eps).item()
    assert got == pytest.approx(loop_cross_entropy(logits, targets, eps), abs=1e-12)


# ------------------------------------------------------------------ triplet


def loop_triplet(emb, targets, margin):
    n = len(targets)
    dist = [[math.sqrt(max(sqdist(emb[i], emb[j]), 1e-12)) for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        positives = [dist[i][j] for j in range(n) if targets[j] == targets[i]]  # self included
        negatives = [dist[i][j] for j in range(n) if targets[j] != targets[i]]
        total += max(0.0, max(positives) - min(negatives) + margin)
    return total / n


def test_triplet_hand_case():
    # 1-D points 0, 1 (id 0) and 3, 7 (id 1), margin 3:
    # anchor 0: ap 1, an 3 -> 1; anchor 1: ap 1, an 2 -> 2; anchor 3: ap 4, an 2 -> 5; anchor 7: ap 4, an 6 -> 1
    emb = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    loss = losses.triplet_hard(emb, torch.tensor([0, 0, 1, 1]), margin=3.0)
    assert loss.item() == pytest.approx(9 / 4, abs=1e-9)


def test_triplet_hardest_positive_includes_self():
    # Every identity appears once: the only positive is the anchor itself, d = sqrt(1e-12).
    emb = torch.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    loss = losses.triplet_hard(emb, torch.tensor([0, 1]), margin=1.5)
    assert loss.item() == pytest.approx(1e-6 - 1.0 + 1.5, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(12, 6, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 4, (12,), generator=g)
    got = losses.triplet_hard(emb, targets, margin=0.3).item()
    assert got == pytest.approx(loop_triplet(emb.tolist(), targets.tolist(), 0.3), abs=1e-9)


# ------------------------------------------------------------------ reliability weights


def loop_reliability(f_w, f_s, k):
    f = torch.cat([f_w, f_s]).tolist()
    n, b = len(f), len(f_w)
    sims = [[sum(x * y for x, y in zip(f[i], f[j])) for j in range(n)] for i in range(n)]
    topk = [set(sorted(range(n), key=lambda j: -sims[i][j])[:k]) for i in range(n)]
    mutual = [{j for j in topk[i] if i in topk[j]} for i in range(n)]
    weights = torch.zeros(b, b, dtype=torch.float64)
    for i in range(b):  # strong sample i = feature b + i
        for j in range(b):  # weak sample j = feature j
            inter = len(mutual[b + i] & mutual[j])
            union = len(mutual[b + i]) + len(mutual[j]) - inter
            weights[i, j] = inter / (union + 1e-6)
    return weights


def test_reliability_hand_case():
    # Two tight pairs (w0, s0) and (w1, s1) far apart, k = 2: N(w0) = N(s0) = {w0, s0}, etc.
    f_w = unit([1, 0], [0, 1])
    f_s = unit([1, 0.05], [0.05, 1])
    weights = losses.reliability_weights(f_w, f_s, k=2)
    expected = torch.tensor([[2 / (2 + 1e-6), 0.0], [0.0, 2 / (2 + 1e-6)]], dtype=torch.float64)
    torch.testing.assert_close(weights, expected)


def test_reliability_rows_are_strong_samples():
    # k = 3: N(s0) = {s0, w0, w1}, N(w0) = {w0, s0, w1}... an asymmetric case checked by the loop.
    f_w = unit([1, 0], [0.8, 0.6], [0, 1])
    f_s = unit([0.95, 0.3], [0.1, 1], [-1, 0.2])
    torch.testing.assert_close(losses.reliability_weights(f_w, f_s, k=3), loop_reliability(f_w, f_s, 3))


@pytest.mark.parametrize("seed,k", [(0, 3), (1, 5), (2, 10)])
def test_reliability_matches_loop(seed, k):
    g = torch.Generator().manual_seed(seed)
    f_w = random_unit(8, 4, g)
    f_s = F.normalize(f_w + 0.4 * torch.randn(8, 4, generator=g, dtype=torch.float64), dim=1)
    got = losses.reliability_weights(f_w, f_s, k=k)
    assert not got.requires_grad
    torch.testing.assert_close(got, loop_reliability(f_w, f_s, k))
    assert got.abs().sum() > 0


# ------------------------------------------------------------------ alignment


def loop_alignment(f_s, f_w, targets, weights):
    num = den = 0.0
    for i in range(len(targets)):
        for j in range(len(targets)):
            if targets[i] == targets[j]:
                num += weights[i][j] * sqdist(f_s[i], f_w[j])
                den += weights[i][j]
    return num / den


def test_alignment_hand_case():
    f_s = unit([1, 0], [0, 1])
    f_w = unit([1, 0], [1, 0])
    y = torch.tensor([0, 0])
    weights = torch.tensor([[1.0, 0.5], [0.25, 1.0]], dtype=torch.float64)
    # distances [[0, 0], [2, 2]]: (0.25 * 2 + 1 * 2) / (1 + 0.5 + 0.25 + 1)
    assert losses.alignment_loss(f_s, f_w, y, weights).item() == pytest.approx(2.5 / 2.75)
    assert losses.alignment_loss(f_s, f_w, y).item() == pytest.approx(1.0)  # weighting off: plain mean


def test_alignment_argument_order_matters():
    # W's rows are strong samples: swapping the views changes the value for an asymmetric W.
    f_s = unit([1, 0], [0, 1])
    f_w = unit([1, 0], [1, 0])
    y = torch.tensor([0, 0])
    weights = torch.tensor([[1.0, 0.5], [0.25, 1.0]], dtype=torch.float64)
    assert losses.alignment_loss(f_w, f_s, y, weights).item() != pytest.approx(
        losses.alignment_loss(f_s, f_w, y, weights).item()
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_alignment_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    f_s, f_w = random_unit(10, 5, g), random_unit(10, 5, g)
    y = torch.randint(0, 3, (10,), generator=g)
    weights = torch.rand(10, 10, generator=g, dtype=torch.float64)
    got = losses.alignment_loss(f_s, f_w, y, weights).item()
    assert got == pytest.approx(loop_alignment(f_s.tolist(), f_w.tolist(), y.tolist(), weights.tolist()), abs=1e-12)
    ones = [[1.0] * 10 for _ in range(10)]
    assert losses.alignment_loss(f_s, f_w, y).item() == pytest.approx(
        loop_alignment(f_s.tolist(), f_w.tolist(), y.tolist(), ones), abs=1e-12
    )


# ------------------------------------------------------------------ uniformity


def loop_uniformity(f, t):
    values = [math.exp(-t * sqdist(f[i], f[j])) for i in range(len(f)) for j in range(i + 1, len(f))]
    return math.log(sum(values) / len(values))


def test_uniformity_hand_case():
    # Two orthogonal unit vectors: squared distance 2, log exp(-2 * 2) = -4.
    assert losses.uniformity_loss(unit([1, 0], [0, 1])).item() == pytest.approx(-4.0)


@pytest.mark.parametrize("t", [2.0, 0.5])
def test_uniformity_matches_loop(t):
    g = torch.Generator().manual_seed(3)
    f = random_unit(9, 4, g)
    assert losses.uniformity_loss(f, t=t).item() == pytest.approx(loop_uniformity(f.tolist(), t), abs=1e-12)


# ------------------------------------------------------------------ domain uniformity


def loop_domain(f, domains, protos, proto_domains, t, domain_specific):
    m = len(f)
    kept_all = []
    for i in range(m):
        row = []
        for c, dom in zip(protos, proto_domains):
            d = sqdist(f[i], c)
            if domain_specific and dom != domains[i]:
                d += 9_999_999.0
            row.append(d)
        kept_all += sorted(row)[1 : m + 1]
    return math.log(sum(math.exp(-t * d) for d in kept_all) / len(kept_all))


def test_domain_hand_case():
    f = unit([1, 0])
    protos = unit([1, 0], [0, 1], [-1, 0], [1, 0])
    proto_domains = torch.tensor([0, 0, 0, 1])
    # same-domain distances 0, 2, 4 (+ the other domain's 0 + 9,999,999): B = 1 keeps the 2nd = 2.
    loss = losses.domain_uniformity_loss(f, torch.tensor([0]), protos, proto_domains)
    assert loss.item() == pytest.approx(-4.0)
    # All prototypes count: distances 0, 0, 2, 4 -> keeps 0.
    loss = losses.domain_uniformity_loss(f, torch.tensor([0]), protos, proto_domains, domain_specific=False)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("domain_specific", [True, False])
def test_domain_matches_loop(domain_specific):
    g = torch.Generator().manual_seed(4)
    f, protos = random_unit(4, 3, g), random_unit(20, 3, g)
    domains = torch.tensor([0, 1, 1, 0])
    proto_domains = torch.tensor([0, 1] * 10)  # 10 per domain >= B + 1 = 5
    got = losses.domain_uniformity_loss(f, domains, protos, proto_domains, t=2.0, domain_specific=domain_specific)
    expected = loop_domain(f.tolist(), domains.tolist(), protos.tolist(), proto_domains.tolist(), 2.0, domain_specific)
    assert got.item() == pytest.approx(expected, abs=1e-12)


def test_domain_gradient_reaches_features_only():
    g = torch.Generator().manual_seed(5)
    f = random_unit(4, 3, g).requires_grad_()
    protos = random_unit(12, 3, g)
    losses.domain_uniformity_loss(f, torch.tensor([0, 0, 1, 1]), protos, torch.tensor([0, 1] * 6)).backward()
    assert f.grad is not None and f.grad.abs().sum() > 0


def test_domain_short_domain_dilutes_like_the_reference_and_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(bau_terms, "_warned", set())
    g = torch.Generator().manual_seed(6)
    f, protos = random_unit(4, 3, g), random_unit(12, 3, g)
    domains = torch.tensor([0, 0, 1, 1])
    proto_domains = torch.tensor([0] * 3 + [1] * 9)  # domain 0 has 3 < B + 1 = 5 prototypes
    with caplog.at_level(logging.WARNING, logger="bau.losses"):
        got = losses.domain_uniformity_loss(f, domains, protos, proto_domains)
        losses.domain_uniformity_loss(f, domains, protos, proto_domains)
    expected = loop_domain(f.tolist(), domains.tolist(), protos.tolist(), proto_domains.tolist(), 2.0, True)
    assert got.item() == pytest.approx(expected, abs=1e-12)
    warnings = [r for r in caplog.records if "only 3 prototypes" in r.getMessage()]
    assert len(warnings) == 1


def test_domain_fewer_prototypes_than_batch(caplog, monkeypatch):
    monkeypatch.setattr(bau_terms, "_warned", set())
    g = torch.Generator().manual_seed(7)
    f, protos = random_unit(6, 3, g), random_unit(4, 3, g)
    domains = torch.zeros(6, dtype=torch.long)
    proto_domains = torch.zeros(4, dtype=torch.long)
    with caplog.at_level(logging.WARNING, logger="bau.losses"):
        got = losses.domain_uniformity_loss(f, domains, protos, proto_domains)
    # The reference's slice [1:B+1] keeps the N - 1 = 3 available ones.
    expected = loop_domain(f.tolist(), domains.tolist(), protos.tolist(), proto_domains.tolist(), 2.0, True)
    assert got.item() == pytest.approx(expected, abs=1e-12)
    assert any("averaging over the 3 available" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="at least 2 prototypes"):
        losses.domain_uniformity_loss(f, domains, protos[:1], proto_domains[:1])


def test_fp16_features_keep_far_offsets_finite():
    # FAR = 9,999,999 overflows fp16; distances are computed in at least fp32 as under autocast.
    g = torch.Generator().manual_seed(8)
    f, protos = random_unit(4, 3, g), random_unit(12, 3, g)
    domains, proto_domains = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1] * 6)
    half = losses.domain_uniformity_loss(f.half(), domains, protos.half(), proto_domains)
    assert half.dtype == torch.float32 and torch.isfinite(half)
    assert half.item() == pytest.approx(
        losses.domain_uniformity_loss(f, domains, protos, proto_domains).item(), abs=1e-2
    )
    emb = torch.randn(6, 4, generator=g)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert losses.triplet_hard(emb.half(), y).item() == pytest.approx(losses.triplet_hard(emb, y).item(), abs=1e-2)
