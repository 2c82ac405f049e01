"""The BAU objective of one batch: switches of the `method` config and the total's weights."""

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
    weak = (torch.randn(b, dim, generator=g), F.normalize(torch.randn(b, dim, generator=g)), torch.randn(b, classes, generator=g))
    strong = (torch.randn(b, dim, generator=g), F.normalize(torch.randn(b, dim, generator=g)), torch.randn(b, classes, generator=g))
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
