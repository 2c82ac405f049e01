"""README "Add your own method": a CosFace loss in one module, registered with a decorator,
picked by one config entry, trains with the BAU trainer."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from bau.config import validate_run
from bau.losses import IdentityLoss, create_id_loss, register_id_loss
from bau.losses.identity import _registry
from bau.training.trainer import Trainer
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import tiny_run_config


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


@pytest.fixture
def cosface(monkeypatch):
    """The README's module, registered in a copy of the registry that the test then drops."""
    monkeypatch.setattr(_registry, "_LOSSES", dict(_registry._LOSSES))

    @register_id_loss("cosface")
    class CosFace(IdentityLoss):
        """Large margin cosine loss (Wang et al., CVPR 2018): softmax of s (cos theta_j - m [j = y])."""

        def __init__(self, num_classes: int, feat_dim: int, s: float = 64.0, m: float = 0.35) -> None:
            super().__init__(num_classes, feat_dim)
            self.s, self.m = s, m

        def forward(self, f, logits, weight, targets):
            cos = F.normalize(f, dim=1) @ F.normalize(weight, dim=1).t()
            margin = self.m * F.one_hot(targets, cos.shape[1]).to(cos.dtype)
            return F.cross_entropy(self.s * (cos - margin), targets)

    return CosFace


def test_cosface_hand_case(cosface):
    # Feature at 60 degrees, class weights at 0 and 90 degrees: cosines 1/2 and sqrt(3)/2.
    loss = create_id_loss({"name": "cosface", "s": 2.0}, 2, 2)
    f = torch.tensor([[0.5, math.sqrt(3) / 2]], dtype=torch.float64)
    weight = torch.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    a, b = 2 * (0.5 - 0.35), 2 * math.sqrt(3) / 2
    expected = math.log(math.exp(a) + math.exp(b)) - a
    assert loss(f, None, weight, torch.tensor([0])).item() == pytest.approx(expected, abs=1e-12)


def test_cosface_trains_with_bau(cosface, data_root, tmp_path):
    torch.set_num_threads(1)
    cfg = validate_run({**tiny_run_config(data_root, epochs=1, iters=2), "method": {"id_loss": {"name": "cosface"}}})
    Trainer(cfg, tmp_path / "run").run()
    records = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records] == [1, 2]
    assert all(math.isfinite(r["ce"]) and r["ce"] > 0 for r in records)
    # With its published default s = 64 the loss of a random model is large: the margin loss,
    # not the cross-entropy (about log 16 identities = 2.8), was trained.
    assert records[0]["ce"] > 5
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.pth", weights_only=True)
    assert checkpoint["config"]["method"]["id_loss"] == {"name": "cosface"}
    assert checkpoint["id_loss"] == {}  # CosFace owns no parameters: the class weights are the model's
