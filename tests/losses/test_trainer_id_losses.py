"""The trainer with a loss that owns parameters (PCL's projections): optimised with the model,
checkpointed, and restored on resume."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bau.config import validate_run
from bau.training.trainer import Trainer
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import run_full_and_resumed, tiny_run_config


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


@pytest.fixture(autouse=True)
def one_thread_deterministic():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def test_pcl_parameters_are_trained_checkpointed_and_resumed(data_root, tmp_path, monkeypatch):
    cfg = validate_run({**tiny_run_config(data_root, iters=2), "method": {"id_loss": {"name": "pcl"}}})
    full, resumed = run_full_and_resumed(cfg, tmp_path, monkeypatch)
    assert resumed == full

    a = torch.load(tmp_path / "full" / "checkpoints" / "last.pth", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pth", weights_only=True)
    assert a["id_loss"].keys() == {"feature_proj.weight", "feature_proj.bias", "proxy_proj"}
    for key in a["id_loss"]:
        assert torch.equal(a["id_loss"][key], b["id_loss"][key]), key
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    # Trained: the projections moved away from their initial values.
    trainer = Trainer(cfg, tmp_path / "fresh")
    trainer.setup_device()
    trainer.setup_data()
    trainer.setup_model()
    for key, value in trainer.id_loss.state_dict().items():
        assert not torch.equal(value, a["id_loss"][key]), key
    records = [json.loads(line) for line in (tmp_path / "full" / "losses.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["ce"]) for r in records)
