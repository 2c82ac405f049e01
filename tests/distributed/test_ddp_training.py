"""The trainer under 2 gloo processes: one step equals the single-process step of the global
batch, and ``bau train --nproc 2`` trains, writes the run folder once and resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from bau.cli import main as cli_main
from bau.config import validate_run
from bau.distributed.ddp import wrap_model
from bau.io import write_yaml
from bau.models import load_model
from bau.training.memory import MemoryBank
from bau.training.trainer import Trainer
from tests.distributed.multiproc import assert_same_step, run_ranks
from tests.fixtures.datasets import MODEL_HEIGHT, MODEL_WIDTH, write_benchmark
from tests.training.tiny_data import tiny_run_config

BATCH = 16  # 4 identities x 4 instances: 2 whole identities per rank


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


def _global_batch(num_classes: int):
    g = torch.Generator().manual_seed(3)
    x_w = torch.randn(BATCH, 3, MODEL_HEIGHT, MODEL_WIDTH, generator=g, dtype=torch.float64)
    x_s = torch.randn(BATCH, 3, MODEL_HEIGHT, MODEL_WIDTH, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 9, 12]).repeat_interleave(4)  # classes of both domains
    d = (y >= num_classes // 2).long()
    return x_w, x_s, y, d


def _step(data_root, run_dir, rank: int, world: int):
    """One trainer step in float64 on this rank's part of the global batch."""
    torch.set_num_threads(1)
    trainer = Trainer(validate_run(tiny_run_config(data_root)), run_dir)
    trainer.setup_device()
    trainer.setup_data()
    trainer.setup_model()
    trainer.model.double()  # in place: the optimizer keeps the same parameters
    num_classes = trainer.train_set.num_classes
    g = torch.Generator().manual_seed(2)
    protos = torch.randn(num_classes, trainer.model.feat_dim, generator=g, dtype=torch.float64)
    labels = torch.tensor(trainer.train_set.class_domains)
    trainer.memory = MemoryBank(torch.nn.functional.normalize(protos, dim=1), labels)
    trainer.net = wrap_model(trainer.model, trainer.device)
    part = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    batch = [t[part] for t in _global_batch(num_classes)]
    values = trainer.train_step(batch, 1, 1)
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    buffers = {n: b.clone() for n, b in trainer.model.named_buffers()}
    return values, grads, buffers, trainer.memory.features.clone()


def _rank_fn(rank, world, data_root, run_dir):
    return _step(data_root, run_dir, rank, world)


def test_a_two_process_step_is_the_one_process_step_of_the_global_batch(data_root, tmp_path):
    expected = _step(data_root, tmp_path / "one", 0, 1)
    assert set(expected[0]) == {"loss", "ce", "tri", "align", "uniform", "domain"}
    for result in run_ranks(_rank_fn, 2, (data_root, tmp_path / "two")):
        assert_same_step(result, expected)


def _bau_train(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    return subprocess.run(
        [sys.executable, "-m", "bau", "train", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_bau_train_with_two_processes_trains_and_resumes(data_root, tmp_path):
    config = tmp_path / "run.yaml"
    write_yaml(config, tiny_run_config(data_root, epochs=2, iters=2, eval_epochs=[1]))
    run = tmp_path / "run"
    result = _bau_train("--config", str(config), "--out", str(run), "--nproc", "2")
    assert result.returncode == 0, result.stderr[-3000:]

    log = (run / "log.txt").read_text()
    assert "2 processes (DDP), 8 images per process and batch" in log
    assert log.count("training into") == 1  # rank 1 writes nothing
    losses = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["iter"]) for r in losses] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    evals = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["dataset"]) for r in evals] == [(1, "market1501"), (2, "market1501")]
    final = json.loads((run / "final.json").read_text())
    assert final["targets"]["market1501"]["last"]["epoch"] == 2
    # The checkpoint holds plain BatchNorm state: it loads into the single-process model.
    model, saved = load_model(run / "checkpoints" / "last.pth")
    assert saved["epoch"] == 2 and not model.training

    # Killed between the last checkpoint and final.json: the rerun resumes and only finishes.
    (run / "final.json").unlink()
    result = _bau_train("--config", str(config), "--out", str(run), "--nproc", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (run / "log.txt").read_text()
    assert json.loads((run / "final.json").read_text()) == final


def test_more_processes_than_leased_gpus_is_refused(data_root, tmp_path, capsys):
    config = tmp_path / "run.yaml"
    write_yaml(config, tiny_run_config(data_root, device="cuda", gpus=1))
    assert cli_main(["train", "--config", str(config), "--out", str(tmp_path / "run"), "--nproc", "3"]) == 2
    assert "--nproc 3: a run trains with one process per GPU (1 leased" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
