"""`bau train` killed with SIGKILL mid-epoch or mid-save: the same command resumes from the
last checkpoint to the metrics and logs of an uninterrupted run, and removes the temporary
file the killed save left."""

from __future__ import annotations

import json
import signal

import pytest

from bau.io import write_yaml
from tests.fixtures.datasets import write_benchmark
from tests.reliability.helpers import faulty_train
from tests.training.tiny_data import tiny_run_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    data_root = write_benchmark(root / "data")
    config = root / "run.yaml"
    write_yaml(config, tiny_run_config(data_root, epochs=2, iters=3, eval_epochs=[1]))
    reference = root / "uninterrupted"
    result = faulty_train("none", "--config", str(config), "--out", str(reference))
    assert result.returncode == 0, result.stderr[-3000:]
    return config, reference


def outputs(run):
    return {
        "final": json.loads((run / "final.json").read_text()),
        "losses": (run / "losses.jsonl").read_text(),
        "evals": (run / "evals.jsonl").read_text(),
    }


@pytest.mark.parametrize("fault", ["kill-mid-epoch", "kill-mid-save"])
def test_killed_training_resumes_to_identical_results(setup, tmp_path, fault):
    config, reference = setup
    run = tmp_path / "run"
    result = faulty_train(fault, "--config", str(config), "--out", str(run))
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert not (run / "final.json").exists()
    temps = sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp"))
    if fault == "kill-mid-save":
        assert len(temps) == 1 and temps[0].startswith(".last.pth.")
    else:
        assert temps == []

    result = faulty_train("none", "--config", str(config), "--out", str(run))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (run / "log.txt").read_text()
    assert outputs(run) == outputs(reference)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_001.pth", "epoch_002.pth", "last.pth"]
