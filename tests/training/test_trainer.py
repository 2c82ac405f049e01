"""End-to-end CPU training on a tiny two-domain benchmark: learning, resume, failures."""

from __future__ import annotations

import json
import platform

import pytest
import torch

from bau import losses
from bau.cli import main as cli_main
from bau.config import validate_run
from bau.errors import TrainingError
from bau.io import write_yaml
from bau.models import load_model
from bau.training import trainer as trainer_module
from bau.training.trainer import Trainer, amp_dtype
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import run_full_and_resumed, tiny_run_config


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


@pytest.fixture(autouse=True)
def one_thread():
    # The machine's cores are shared: more threads only add contention.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def deterministic():
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(previous)


def config(data_root, **train):
    return validate_run(tiny_run_config(data_root, **train))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_loss_decreases(data_root, tmp_path):
    cfg = config(data_root, epochs=1, iters=20, lr=1e-3, warmup_epochs=0, eval_epochs=[1])
    final = Trainer(cfg, tmp_path / "run").run()
    losses = read_jsonl(tmp_path / "run" / "losses.jsonl")
    assert [r["iter"] for r in losses] == list(range(1, 21))
    assert all(r[k] is not None for r in losses for k in ("ce", "tri", "align", "uniform", "domain"))
    first = sum(r["ce"] for r in losses[:5]) / 5
    last = sum(r["ce"] for r in losses[-5:]) / 5
    assert last < first - 0.2, (first, last)
    assert set(final["targets"]) == {"market1501"}
    assert 0 <= final["targets"]["market1501"]["last"]["mAP"] <= 1


def test_resume_replays_an_uninterrupted_run(data_root, tmp_path, monkeypatch, deterministic):
    cfg = config(data_root)
    full, resumed = run_full_and_resumed(cfg, tmp_path, monkeypatch)
    assert resumed == full
    for name in ("losses.jsonl", "evals.jsonl"):
        assert (tmp_path / "resumed" / name).read_text() == (tmp_path / "full" / name).read_text()
    a = torch.load(tmp_path / "full" / "checkpoints" / "last.pth", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pth", weights_only=True)
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert torch.equal(a["memory"]["features"], b["memory"]["features"])
    assert sorted(p.name for p in (tmp_path / "full" / "checkpoints").iterdir()) == [
        "epoch_001.pth",
        "epoch_002.pth",
        "last.pth",
    ]
    # A finished run is not trained again.
    monkeypatch.setattr(Trainer, "train_epoch", lambda *a: pytest.fail("trained a complete run"))
    assert Trainer(cfg, tmp_path / "full").run() == full


def test_another_config_in_the_same_folder_is_refused(data_root, tmp_path, capsys):
    run_dir = tmp_path / "run"
    cfg = config(data_root)
    write_yaml(run_dir / "config.yaml", cfg)
    changed = config(data_root, lr=1e-3)
    with pytest.raises(TrainingError, match="another configuration.*new --out folder"):
        Trainer(changed, run_dir).run()
    cfg_file = tmp_path / "changed.yaml"
    write_yaml(cfg_file, changed)
    assert cli_main(["train", "--config", str(cfg_file), "--out", str(run_dir)]) == 2
    assert "another configuration" in capsys.readouterr().err


def test_non_finite_loss_names_the_term(data_root, tmp_path, monkeypatch):
    real = losses.uniformity_loss
    calls = {"n": 0}

    def poisoned(f, t=2.0):
        calls["n"] += 1  # two calls (weak, strong view) per iteration
        value = real(f, t=t)
        return value * float("inf") if calls["n"] == 4 else value

    monkeypatch.setattr(losses, "uniformity_loss", poisoned)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"epoch 1, iteration 2: uniform=-?inf\b"):
        Trainer(config(data_root, iters=3), run_dir).run()
    assert "iteration 2: uniform=" in (run_dir / "log.txt").read_text()
    assert not (run_dir / "checkpoints" / "last.pth").exists()


@pytest.mark.parametrize("native", [None, "AVX512-BF16", "AMX"])
def test_amp_dtype_on_cpu_only_bf16_with_amx(monkeypatch, native):
    monkeypatch.setattr(trainer_module, "cpu_native_bf16", lambda: native)
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    bf16 = torch.bfloat16 if native == "AMX" else None
    assert [amp_dtype(cpu, a) for a in ("fp16", "bf16", "off")] == [None, bf16, None]
    assert [amp_dtype(cuda, a) for a in ("fp16", "bf16", "off")] == [torch.float16, torch.bfloat16, None]


@pytest.mark.parametrize("native", ["AVX512-BF16", "AMX"])
def test_cpu_bf16_run_logs_and_records_its_precision(data_root, tmp_path, monkeypatch, native):
    monkeypatch.setattr(trainer_module, "cpu_native_bf16", lambda: native)
    cfg = validate_run(tiny_run_config(data_root, epochs=1, iters=2, amp="bf16"))
    final = Trainer(cfg, tmp_path / "run").run()
    log_text = (tmp_path / "run" / "log.txt").read_text()
    if native == "AMX":
        assert final["precision"] == "bf16"
        assert "bf16 autocast on the CPU (AMX)" in log_text
    else:
        assert final["precision"] == "fp32"
        assert "no AMX (native bf16: AVX512-BF16), where bf16 is slower than fp32; training runs in fp32" in log_text
    assert f"training precision {final['precision']}" in log_text
    glibc = platform.libc_ver()[0] == "glibc"
    assert f"malloc keeps freed memory for reuse: {'yes' if glibc else 'no (not glibc)'}" in log_text


def test_mixed_precision_step_keeps_the_memory_fp32(data_root, tmp_path):
    # The trainer only autocasts on CUDA; CPU autocast exercises the same code path here.
    trainer = Trainer(config(data_root), tmp_path / "run")
    trainer.setup_device()
    trainer.setup_data()
    trainer.setup_model()
    trainer.init_memory()
    trainer.loader.new_epoch()
    trainer.amp_dtype = torch.bfloat16
    before = trainer.memory.features.clone()
    values = trainer.train_step(trainer.loader.next(), 1, 1)
    assert set(values) == {"loss", "ce", "tri", "align", "uniform", "domain"}
    assert trainer.memory.features.dtype == torch.float32
    assert not torch.equal(before, trainer.memory.features)
    torch.testing.assert_close(trainer.memory.features.norm(dim=1), torch.ones(len(before)))


def test_baseline_trains_on_weak_views_only(data_root, tmp_path):
    cfg = validate_run(
        {**tiny_run_config(data_root, epochs=1, iters=2), "method": {"strong_view": False, "alignment": False}}
    )
    Trainer(cfg, tmp_path / "run").run()
    records = read_jsonl(tmp_path / "run" / "losses.jsonl")
    assert [r["iter"] for r in records] == [1, 2]
    assert all(r["align"] is None and r["uniform"] is None and r["domain"] is None for r in records)
    assert all(r["loss"] == pytest.approx(r["ce"] + r["tri"]) for r in records)
    checkpoint = tmp_path / "run" / "checkpoints" / "last.pth"
    assert torch.load(checkpoint, weights_only=True)["memory"] is None
    model, saved = load_model(checkpoint)
    assert not model.training and saved["config"] == cfg


def test_cpu_training_runs_in_channels_last(data_root, tmp_path):
    # oneDNN's CPU convolutions are fastest on NHWC, in fp32 as in bf16 (trainer.setup_device).
    trainer = Trainer(validate_run(tiny_run_config(data_root, epochs=1, iters=1)), tmp_path / "run")
    trainer.setup_device()
    trainer.setup_data()
    trainer.setup_model()
    convs = [m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
