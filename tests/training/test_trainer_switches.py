"""The trainer's plumbing of two switches: `method.strong_id_loss` (the strong views' outputs
reach the objective) and `eval.amp` (evaluation features fp32 unless asked)."""

from __future__ import annotations

import pytest

import bau.training.trainer as trainer_module
from bau.config import validate_run
from bau.training.trainer import Trainer
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import tiny_run_config


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


def ready(cfg: dict, out) -> Trainer:
    trainer = Trainer(validate_run(cfg), out)
    trainer.setup_device()
    trainer.setup_data()
    trainer.setup_model()
    trainer.init_memory()
    trainer.loader.new_epoch()
    return trainer


@pytest.mark.parametrize("strong_id", [False, True])
def test_strong_id_loss_gets_the_strong_views_outputs(data_root, tmp_path, monkeypatch, strong_id):
    method = {"strong_id_loss": strong_id, "alignment": False, "uniformity": False, "domain": False}
    trainer = ready({**tiny_run_config(data_root), "method": method}, tmp_path / "run")
    seen = []
    compute = trainer_module.compute_losses
    monkeypatch.setattr(trainer_module, "compute_losses", lambda out, *a: seen.append(out) or compute(out, *a))
    values = trainer.train_step(trainer.loader.next(), 1, 1)
    assert set(values) == {"loss", "ce", "tri"}
    (out,) = seen
    if strong_id:
        assert out.logits_s.shape == out.logits_w.shape and out.emb_s.shape == out.emb_w.shape
        assert out.logits_s.requires_grad
    else:  # the reference: not even kept (nor gathered across processes)
        assert out.logits_s is None and out.emb_s is None


@pytest.mark.parametrize("amp", [None, True])
def test_trainer_evaluates_in_fp32_unless_eval_amp(data_root, tmp_path, monkeypatch, amp):
    cfg = tiny_run_config(data_root)
    if amp is not None:
        cfg["eval"] = {**cfg.get("eval", {}), "amp": amp}
    trainer = ready(cfg, tmp_path / "run")
    calls = []
    summary = {name: {"mean": 0.5} for name in ("mAP", "rank1", "rank5", "rank10", "mINP")}
    # evaluate_model(model, target, data_root, options, ...)
    monkeypatch.setattr(
        trainer_module, "evaluate_model", lambda *a, **k: calls.append(a[3].amp) or {"summary": summary}
    )
    trainer.evaluate_targets(1)
    assert calls == [bool(amp)]
