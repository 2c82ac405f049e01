"""Identity losses: the registry and factory, and ce / arcface / pcl against hand-computed
cases and independent float64 formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bau import losses
from bau.config import validate_run
from bau.errors import ConfigError
from bau.losses.identity import _registry
from bau.losses.identity.arcface import ArcFace
from bau.losses.identity.base import IdentityLoss
from bau.losses.identity.ce import CrossEntropyLabelSmooth
from bau.losses.identity.pcl import ProxyContrastive
from bau.training.objective import compute_losses, view_outputs


def t64(rows):
    return torch.tensor(rows, dtype=torch.float64)


def log_softmax_at(row, index):
    """-log softmax(row)[index], by hand."""
    top = max(v for v in row if v != -math.inf)
    return math.log(sum(math.exp(v - top) for v in row if v != -math.inf)) + top - row[index]


# ------------------------------------------------------------------ registry and factory


def test_builtin_losses_and_defaults():
    assert {"ce", "arcface", "pcl"} <= set(losses.list_id_losses())
    assert isinstance(losses.create_id_loss("ce", 5, 8), CrossEntropyLabelSmooth)
    assert losses.create_id_loss({"name": "ce"}, 5, 8).epsilon == 0.1
    arcface = losses.create_id_loss({"name": "arcface"}, 5, 8)
    assert (arcface.s, arcface.m) == (64.0, 0.5)
    pcl = losses.create_id_loss({"name": "pcl"}, 5, 8)
    assert (pcl.scale, pcl.contrast_weight, pcl.epsilon) == (12.0, 1.0, 0.1)
    assert {n for n, _ in pcl.named_parameters()} == {"feature_proj.weight", "feature_proj.bias", "proxy_proj"}
    assert losses.create_id_loss({"name": "arcface", "s": 30.0, "m": 0.35}, 5, 8).s == 30.0


def test_config_default_is_ce():
    assert validate_run({})["method"]["id_loss"] == {"name": "ce"}
    assert validate_run({"method": {"id_loss": {"epsilon": 0.2}}})["method"]["id_loss"] == {
        "name": "ce",
        "epsilon": 0.2,
    }
    with pytest.raises(ConfigError, match="method.id_loss.name"):
        validate_run({"method": {"id_loss": {"name": 3}}})


def test_factory_errors_name_the_key_and_the_fix():
    with pytest.raises(ConfigError, match=r"unknown identity loss 'cosface'; choose one of .*arcface.*register"):
        losses.create_id_loss({"name": "cosface"}, 5, 8)
    with pytest.raises(
        ConfigError,
        match=r"unknown key 'method.id_loss.margin' for identity loss 'arcface'; its hyper-parameters: s, m",
    ):
        losses.create_id_loss({"name": "arcface", "margin": 0.5}, 5, 8)
    with pytest.raises(ConfigError, match=r"method.id_loss \(arcface\): s .* must be > 0"):
        losses.create_id_loss({"name": "arcface", "s": 0}, 5, 8)
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module'"):
        losses.create_id_loss({"name": "no_such_module:x"}, 5, 8)


def test_registration_rules(monkeypatch):
    monkeypatch.setattr(_registry, "_LOSSES", dict(_registry._LOSSES))
    with pytest.raises(ValueError, match="'ce' is registered twice"):
        losses.register_id_loss("ce")(type("Other", (IdentityLoss,), {}))
    with pytest.raises(TypeError, match="IdentityLoss subclasses"):
        losses.register_id_loss("plain")(torch.nn.Module)


def test_module_path_names_a_loss_outside_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(_registry, "_LOSSES", dict(_registry._LOSSES))
    (tmp_path / "my_losses.py").write_text(
        "from bau.losses import IdentityLoss, register_id_loss\n"
        "@register_id_loss('zero')\n"
        "class Zero(IdentityLoss):\n"
        "    def forward(self, f, logits, weight, targets):\n"
        "        return logits.sum() * 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    loss = losses.create_id_loss({"name": "my_losses:zero"}, 5, 8)
    assert type(loss).__name__ == "Zero" and "zero" in losses.list_id_losses()


# ------------------------------------------------------------------ ce


def test_ce_module_is_the_reference_cross_entropy():
    # logits (1, 0, 0), target 0, eps 0.1: q0 = 0.9 + 0.1/3; loss = logsumexp - q0 * 1
    logits = t64([[1.0, 0.0, 0.0]])
    loss = losses.create_id_loss("ce", 3, 2)(None, logits, None, torch.tensor([0]))
    assert loss.item() == pytest.approx(math.log(math.e + 2) - (0.9 + 0.1 / 3), abs=1e-12)


# ------------------------------------------------------------------ arcface


def test_arcface_hand_case():
    # Feature at 60 degrees; class weights (un-normalised) at 0 and 90 degrees, so the angles
    # are 60 and 30 degrees. Target 0: logits s cos(pi/3 + m) and s cos(pi/6).
    f = t64([[0.5, math.sqrt(3) / 2]])
    weight = t64([[2.0, 0.0], [0.0, 3.0]])
    s, m = 64.0, 0.5
    loss = ArcFace(2, 2)(f, None, weight, torch.tensor([0]))
    expected = log_softmax_at([s * math.cos(math.pi / 3 + m), s * math.cos(math.pi / 6)], 0)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    # Target 1 (the weight at 30 degrees); a margin of 0 is the scaled cosine softmax.
    loss = ArcFace(2, 2, s=2.0, m=0.0)(f, None, weight, torch.tensor([1]))
    assert loss.item() == pytest.approx(log_softmax_at([2 * 0.5, 2 * math.sqrt(3) / 2], 1), abs=1e-12)


def numpy_arcface(f, weight, targets, s, m):
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    w = weight / np.linalg.norm(weight, axis=1, keepdims=True)
    theta = np.arccos(np.clip(f @ w.T, -1, 1))
    theta[np.arange(len(targets)), targets] += m
    logits = s * np.cos(theta)
    top = logits.max(1, keepdims=True)
    log_prob = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
    return -log_prob[np.arange(len(targets)), targets].mean()


@pytest.mark.parametrize(("s", "m"), [(64.0, 0.5), (30.0, 0.35), (4.0, 2.0)])
def test_arcface_matches_an_arccos_formula(s, m):
    g = torch.Generator().manual_seed(0)
    f = F.normalize(torch.randn(9, 5, generator=g, dtype=torch.float64), dim=1)
    weight = torch.randn(4, 5, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 4, (9,), generator=g)
    got = ArcFace(4, 5, s=s, m=m)(f, None, weight, targets).item()
    assert got == pytest.approx(numpy_arcface(f.numpy(), weight.numpy(), targets.numpy(), s, m), rel=1e-9)


def test_arcface_gradient_is_finite_on_the_class_weight():
    # cos = 1 exactly: arccos' gradient would be infinite there.
    f = t64([[1.0, 0.0], [0.0, 1.0]]).requires_grad_()
    weight = t64([[1.0, 0.0], [0.0, 1.0]]).requires_grad_()
    ArcFace(2, 2)(f, None, weight, torch.tensor([0, 1])).backward()
    assert torch.isfinite(f.grad).all() and torch.isfinite(weight.grad).all()


# ------------------------------------------------------------------ pcl


def test_pcl_contrastive_hand_case():
    # Proxies along x (class 0) and y (class 1). Samples: z0 = (1, 0) and z1 = (0.6, 0.8) of
    # class 0, z2 = (0.8, 0.6) and z3 = (-1, 0) of class 1. Similarities: z0.z2 = 0.8,
    # z1.z2 = 0.96, z0.z3 = -1, z1.z3 = -0.6 (non-positive: left out), same-class pairs never
    # count. Each row: [positive proxy, kept negatives] times scale 12, target the first.
    z = t64([[1.0, 0.0], [0.6, 0.8], [0.8, 0.6], [-1.0, 0.0]])
    proxies = t64([[3.0, 0.0], [0.0, 0.5]])
    y = torch.tensor([0, 0, 1, 1])
    s = 12.0
    rows = [
        [s * 1.0, s * 0.8],
        [s * 0.6, s * 0.96],
        [s * 0.6, s * 0.8, s * 0.96],
        [s * 0.0],  # z3: its negatives z0, z1 are dissimilar: only the positive, loss 0
    ]
    expected = sum(log_softmax_at(row, 0) for row in rows) / 4
    pcl = ProxyContrastive(2, 2, projector=False)
    assert pcl.contrastive(z, proxies, y).item() == pytest.approx(expected, abs=1e-12)
    # The whole loss adds the label-smoothed CE on the model's logits.
    logits = t64([[2.0, -1.0], [0.5, 0.0], [0.0, 1.0], [1.0, 1.0]])
    total = pcl(z, logits, proxies, y)
    ce = losses.cross_entropy_label_smooth(logits, y, 0.1)
    assert total.item() == pytest.approx(ce.item() + expected, abs=1e-12)
    assert ProxyContrastive(2, 2, contrast_weight=0.5, epsilon=0.0, projector=False)(z, logits, proxies, y).item() == (
        pytest.approx(F.cross_entropy(logits, y).item() + 0.5 * expected, abs=1e-12)
    )


def numpy_pcl(f, weight, targets, a, b, p, scale):
    z = f @ a.T + b
    proxies = weight @ p.T
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    proxies = proxies / np.linalg.norm(proxies, axis=1, keepdims=True)
    total = 0.0
    for i, yi in enumerate(targets):
        row = [float(z[i] @ proxies[yi])]
        row += [float(z[i] @ z[j]) for j in range(len(targets)) if targets[j] != yi and z[i] @ z[j] >= 1e-6]
        row = scale * np.array(row)
        total += -(row[0] - row.max() - np.log(np.exp(row - row.max()).sum()))
    return total / len(targets)


def test_pcl_with_projections_matches_a_numpy_loop():
    torch.manual_seed(0)
    pcl = ProxyContrastive(5, 6).double()
    g = torch.Generator().manual_seed(1)
    f = F.normalize(torch.randn(10, 6, generator=g, dtype=torch.float64), dim=1)
    weight = torch.randn(5, 6, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    got = pcl.contrastive(f, weight, y).item()
    a, b = pcl.feature_proj.weight.detach().numpy(), pcl.feature_proj.bias.detach().numpy()
    expected = numpy_pcl(f.numpy(), weight.numpy(), y.numpy(), a, b, pcl.proxy_proj.detach().numpy(), 12.0)
    assert got == pytest.approx(expected, abs=1e-10)


def test_pcl_gradients_reach_features_weights_and_projections():
    torch.manual_seed(0)
    pcl = ProxyContrastive(3, 4)
    f = F.normalize(torch.randn(6, 4), dim=1).requires_grad_()
    weight = torch.randn(3, 4, requires_grad=True)
    logits = (f @ weight.t()).detach().requires_grad_()
    pcl(f, logits, weight, torch.tensor([0, 0, 1, 1, 2, 2])).backward()
    for grad in (f.grad, weight.grad, logits.grad, pcl.proxy_proj.grad, pcl.feature_proj.weight.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# ------------------------------------------------------------------ the objective


@pytest.fixture
def outputs():
    g = torch.Generator().manual_seed(0)
    b, dim, classes = 8, 6, 6
    y = torch.tensor([0, 0, 1, 1, 3, 3, 5, 5])
    weak = (
        torch.randn(b, dim, generator=g),
        F.normalize(torch.randn(b, dim, generator=g)),
        torch.randn(b, classes, generator=g),
    )
    weight = torch.randn(classes, dim, generator=g)
    return view_outputs(weak, None), y, weight


def test_objective_uses_the_configured_identity_loss(outputs):
    out, y, weight = outputs
    method = validate_run({"method": {"strong_view": False, "id_loss": {"name": "arcface", "s": 30.0}}})["method"]
    terms = compute_losses(out, y, y, None, method, class_weight=weight)
    torch.testing.assert_close(terms["ce"], ArcFace(6, 6, s=30.0)(out.f_w, None, weight, y))
    pcl = losses.create_id_loss({"name": "pcl"}, 6, 6)
    method = validate_run({"method": {"strong_view": False, "id_loss": {"name": "pcl"}}})["method"]
    terms = compute_losses(out, y, y, None, method, pcl, weight)
    torch.testing.assert_close(terms["ce"], pcl(out.f_w, out.logits_w, weight, y))
    with pytest.raises(ValueError, match="'pcl' has parameters: build it once"):
        compute_losses(out, y, y, None, method, class_weight=weight)
