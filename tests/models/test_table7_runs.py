"""Table 7's runs (config/paper.yaml): another backbone and another identity loss resolve to
valid run configurations and train a step on CPU (the tiny two-domain benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bau.config import deep_merge, load_workflow_config, resolve_run, validate_run
from bau.training.trainer import Trainer
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import tiny_run_config

PAPER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "paper.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize(
    ("method", "arch", "id_loss", "strong_view"),
    [("baseline_mobilenetv2", "mobilenetv2", "ce", False), ("bau_arcface", "resnet50", "arcface", True)],
)
def test_table7_run_resolves_and_trains_a_step(data_root, tmp_path, method, arch, id_loss, strong_view):
    paper = resolve_run(load_workflow_config(PAPER_CONFIG), "protocol2", "cuhk03", method)
    assert (paper["model"]["arch"], paper["model"]["pretrained"]) == (arch, "imagenet")
    assert (paper["method"]["id_loss"]["name"], paper["method"]["strong_view"]) == (id_loss, strong_view)
    assert (paper["train"]["lr"], paper["model"]["height"], paper["model"]["width"]) == (3.5e-4, 256, 128)
    # The paper's method on the tiny benchmark: its model and method, ResNet-18 for ResNet-50
    # and no download; one iteration of one epoch.
    tiny = tiny_run_config(data_root, epochs=1, iters=1, eval_epochs=[1])
    model = {"arch": "resnet18" if arch == "resnet50" else arch, "pretrained": "none"}
    cfg = validate_run(deep_merge(tiny, {"model": model, "method": paper["method"], "augment": paper["augment"]}))
    final = Trainer(cfg, tmp_path / "run").run()
    losses = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert len(losses) == 1 and losses[0]["ce"] is not None and torch.isfinite(torch.tensor(losses[0]["ce"]))
    assert (losses[0]["align"] is not None) == strong_view
    assert 0 <= final["targets"]["market1501"]["last"]["mAP"] <= 1
