"""Evaluation features are extracted in fp32, as the official evaluator does; fp16 autocast
only when asked (`amp=True`, run config `eval.amp`, `bau evaluate --amp`)."""

from __future__ import annotations

import inspect

import pytest
import torch
from PIL import Image

import bau.evaluation.evaluate as evaluate_module
from bau.cli import main
from bau.config import validate_run
from bau.evaluation import EvalOptions, evaluate_model, extract_features
from bau.models import load_model
from tests.evaluation.tiny_data import HEIGHT, WIDTH, make_checkpoint


class Recorder(torch.nn.Module):
    """Pools each image to its mean colour, then a linear layer; records, per batch, whether
    autocast was on and the dtype the linear layer computed in."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 4)
        self.seen: list[tuple[bool, torch.dtype]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.mean(dim=(2, 3)))
        self.seen.append((torch.is_autocast_enabled(x.device.type), out.dtype))
        return out


def images(count: int = 3) -> list[Image.Image]:
    return [Image.new("RGB", (WIDTH, HEIGHT), (40 * i, 100, 200 - 30 * i)) for i in range(count)]


def test_extraction_is_fp32_unless_asked():
    model = Recorder()
    feats = extract_features(model, images(), height=HEIGHT, width=WIDTH, batch_size=2, progress=False)
    assert model.seen == [(False, torch.float32)] * 2  # both batches
    assert feats.dtype == torch.float32
    model.seen.clear()
    mixed = extract_features(model, images(), height=HEIGHT, width=WIDTH, batch_size=2, amp=True, progress=False)
    assert model.seen == [(True, torch.float16)] * 2
    assert mixed.dtype == torch.float32  # re-normalised in fp32 whatever the autocast precision
    torch.testing.assert_close(mixed, feats, atol=5e-3, rtol=0)  # close, not equal: fp16


def test_fp32_is_the_default_on_every_device():
    # Before, the default (None) meant fp16 autocast on CUDA: the default is now a plain False.
    assert inspect.signature(extract_features).parameters["amp"].default is False
    assert EvalOptions().amp is False  # evaluate_model's default options


def test_run_config_extracts_in_fp32_by_default():
    assert validate_run({})["eval"]["amp"] is False
    assert validate_run({"eval": {"amp": True}})["eval"]["amp"] is True


@pytest.fixture
def spy(monkeypatch):
    """The ``amp`` of every extract_features call that evaluate_model makes."""
    calls = []

    def recording(*args, **kwargs):
        calls.append(kwargs["amp"])
        return extract_features(*args, **kwargs)

    monkeypatch.setattr(evaluate_module, "extract_features", recording)
    return calls


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "epoch_002.pth")


def test_evaluate_model_and_bau_evaluate_extract_in_fp32_unless_asked(spy, checkpoint, root, tmp_path):
    model = load_model(checkpoint, num_classes=0)[0]
    evaluate_model(model, "market1501", root, EvalOptions(height=HEIGHT, width=WIDTH, max_rank=10))
    assert spy == [False]
    base = [
        "evaluate",
        "--checkpoint",
        str(checkpoint),
        "--dataset",
        "market1501",
        "--data-root",
        str(root),
        "--out",
        str(tmp_path / "m.json"),
        "--device",
        "cpu",
        "--max-rank",
        "10",
    ]
    assert main(base) == 0
    assert main([*base, "--amp"]) == 0
    assert spy == [False, False, True]
