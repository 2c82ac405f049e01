"""The BAU objective of one batch: switches of the `method` config and the total's weights."""

import math

import pytest
import torch
import torch.nn.functional as F

from bau import losses
from bau.config import validate_run
from bau.training.memory import MemoryBank
from bau.training.objective import compute_losses, total_loss, view_outputs


def method(**switches):
    return validate_run({"method": switches})["method"]


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    b, dim, classes = 8, 6, 6
    y = torch.tensor([0, 0, 1, 1, 3, 3, 5, 5])
    d = (y >= 3).long()  # classes 0-2 domain 0, 3-5 domain 1
    weak = (
        torch.randn(b, dim, generator=g),
        F.normalize(torch.randn(b, dim, generator=g)),
        torch.randn(b, classes, generator=g),
    )
    strong = (
        torch.randn(b, dim, generator=g),
        F.normalize(torch.randn(b, dim, generator=g)),
        torch.randn(b, classes, generator=g),
    )
    memory = MemoryBank(F.normalize(torch.randn(classes, dim, generator=g)), torch.tensor([0, 0, 0, 1, 1, 1]))
    return view_outputs(weak, strong), y, d, memory


def test_terms_are_the_reference_formulas(batch):
    out, y, d, memory = batch
    cfg = method()
    terms = compute_losses(out, y, d, memory, cfg)
    assert terms.keys() == {"ce", "tri", "align", "uniform", "domain"}
    w = losses.reliability_weights(out.f_w, out.f_s, k=10)
    torch.testing.assert_close(terms["align"], losses.alignment_loss(out.f_s, out.f_w, y, w))
    torch.testing.assert_close(
        terms["uniform"], (losses.uniformity_loss(out.f_w) + losses.uniformity_loss(out.f_s)) / 2
    )
    dom = [losses.domain_uniformity_loss(f, d, memory.features, memory.labels) for f in (out.f_w, out.f_s)]
    torch.testing.assert_close(terms["domain"], (dom[0] + dom[1]) / 2)
    torch.testing.assert_close(terms["ce"], F.cross_entropy(out.logits_w, y, label_smoothing=0.1))
    expected = terms["ce"] + terms["tri"] + 1.5 * terms["align"] + terms["uniform"] + terms["domain"]
    torch.testing.assert_close(total_loss(terms, lam=1.5), expected)


def test_without_weighting_alignment_is_the_plain_mean(batch):
    out, y, d, memory = batch
    terms = compute_losses(out, y, d, memory, method(weighting=False, uniformity=False, domain=False))
    same = y[:, None] == y[None, :]
    dist = torch.cdist(out.f_s.double(), out.f_w.double()).pow(2)
    assert terms.keys() == {"ce", "tri", "align"}
    assert terms["align"].item() == pytest.approx(dist[same].mean().item(), rel=1e-5)


def test_baseline_needs_no_strong_view_nor_memory(batch):
    out, y, d, _ = batch
    weak_only = out.__class__(out.emb_w, out.f_w, out.logits_w)
    terms = compute_losses(weak_only, y, d, None, method(strong_view=False))
    assert terms.keys() == {"ce", "tri"}


def test_features_are_renormalised():
    f = torch.full((2, 4), 3.0)
    out = view_outputs((f, f, f), (f, f, f))
    torch.testing.assert_close(out.f_w.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(out.f_s.norm(dim=1), torch.ones(2))


def test_strong_id_loss_trains_the_augmented_views_with_the_identity_losses():
    """Table 5's "L_ce" row, on a hand-computed batch: two identities, 2-D embeddings on a line."""
    y = torch.tensor([0, 0, 1, 1])
    d = torch.zeros(4, dtype=torch.long)

    def on_line(xs):
        return torch.tensor([[x, 0.0] for x in xs])

    f = F.normalize(torch.randn(4, 2, generator=torch.Generator().manual_seed(0)), dim=1)
    logits_w = torch.zeros(4, 2)  # CE = ln 2 whatever the smoothing
    logits_s = torch.log(torch.tensor([[3.0, 1.0], [3.0, 1.0], [1.0, 3.0], [1.0, 3.0]]))  # p(true) = 3/4
    logits_s.requires_grad_(True)
    weak = (on_line([0, 1, 3, 5]), f, logits_w)
    strong = (on_line([0, 2, 2.5, 4]), f, logits_s)
    # Batch-hard triplet, margin 0.3, hinge per anchor (d_ap - d_an + 0.3):
    #   weak:   0 ->(1, 3) 0;   1 ->(1, 2) 0;     3 ->(2, 2) 0.3;   5 ->(2, 4) 0      mean 0.075
    #   strong: 0 ->(2, 2.5) 0; 2 ->(2, 0.5) 1.8; 2.5 ->(1.5, 0.5) 1.3; 4 ->(1.5, 2) 0  mean 0.775
    ce_w = math.log(2)
    ce_s = -(0.95 * math.log(3 / 4) + 0.05 * math.log(1 / 4))  # smoothed target 0.95 / 0.05
    cfg = method(strong_id_loss=True, alignment=False, uniformity=False, domain=False)
    terms = compute_losses(view_outputs(weak, strong, strong_id=True), y, d, None, cfg)
    assert terms.keys() == {"ce", "tri"}
    assert terms["ce"].item() == pytest.approx((ce_w + ce_s) / 2, abs=1e-5)
    assert terms["tri"].item() == pytest.approx((0.075 + 0.775) / 2, abs=1e-5)
    terms["ce"].backward()
    assert logits_s.grad.abs().sum() > 0  # the augmented views are trained
    # Off (the reference): identity losses on the weak views only.
    ref = compute_losses(
        view_outputs(weak, strong), y, d, None, method(alignment=False, uniformity=False, domain=False)
    )
    assert ref["ce"].item() == pytest.approx(ce_w, abs=1e-6)
    assert ref["tri"].item() == pytest.approx(0.075, abs=1e-5)


def test_strong_id_loss_needs_the_strong_outputs(batch):
    out, y, d, memory = batch  # built without strong_id: no strong embeddings nor logits kept
    assert out.emb_s is None and out.logits_s is None
    with pytest.raises(ValueError, match="strong_id_loss needs the strong view"):
        compute_losses(out, y, d, memory, method(strong_id_loss=True))
    # without the strong view (the baseline) the switch has nothing to act on
    weak_only = out.__class__(out.emb_w, out.f_w, out.logits_w)
    terms = compute_losses(weak_only, y, d, None, method(strong_view=False, strong_id_loss=True))
    torch.testing.assert_close(terms["ce"], F.cross_entropy(out.logits_w, y, label_smoothing=0.1))
