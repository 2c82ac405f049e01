"""`bau evaluate --run` reuses the trainer's own evaluation of its last epoch when it is the
evaluation asked for (same checkpoint, data root, device and options), and evaluates the
checkpoint otherwise; both give the same metrics and features."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from bau.cli import main
from bau.config import validate_run
from bau.io import read_json
from bau.layout import RunDir
from bau.training.trainer import Trainer
from tests.fixtures.datasets import write_benchmark
from tests.training.tiny_data import tiny_run_config

REUSED = "reused the run's own evaluation"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished two-epoch run on the tiny benchmark, bf16 autocast where the CPU allows."""
    root = write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))
    run = tmp_path_factory.mktemp("run")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Trainer(validate_run(tiny_run_config(root, epochs=2, iters=2, eval_epochs=[1], amp="bf16")), run).run()
    finally:
        torch.set_num_threads(previous)
    return root, run


def evaluate(run, root, out, *extra: str) -> dict:
    args = ["evaluate", "--run", str(run), "--selection", "last", "--dataset", "market1501"]
    args += ["--data-root", str(root), "--splits-dir", str(root / "splits"), "--split-seed", "1"]
    args += ["--out", str(out / "metrics.json"), "--save-features", str(out / "features.npz"), "--device", "cpu"]
    assert main([*args, *extra]) == 0
    return read_json(out / "metrics.json")


def test_the_trainer_records_how_it_evaluated_its_last_epoch(trained):
    root, run = trained
    record = read_json(RunDir(run).final_metrics("market1501"))
    assert record["epoch"] == 2 and record["device"] == "cpu" and record["data_root"] == str(root.resolve())
    assert record["options"]["batch_size"] == 64 and record["options"]["splits_dir"] == str((root / "splits").resolve())
    assert RunDir(run).final_features("market1501").is_file()
    last = read_json(RunDir(run).final)["targets"]["market1501"]["last"]
    assert last["epoch"] == 2 and last["mAP"] == record["metrics"]["summary"]["mAP"]["mean"]


def test_reused_evaluation_equals_a_fresh_one(trained, tmp_path, caplog):
    root, run = trained
    (tmp_path / "reused").mkdir()
    (tmp_path / "fresh").mkdir()
    with caplog.at_level("INFO", logger="bau.evaluation.cli"):
        reused = evaluate(run, root, tmp_path / "reused")
    assert f"{REUSED} of epoch 2" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="bau.evaluation.cli"):
        fresh = evaluate(run, root, tmp_path / "fresh", "--no-amp")  # a given option equal to the run's
    assert REUSED in caplog.text  # an option equal to the run's own still reuses
    # Force the fresh path: without the record the checkpoint is loaded and evaluated.
    record = RunDir(run).final_metrics("market1501")
    saved = record.read_text()
    record.unlink()
    try:
        caplog.clear()
        with caplog.at_level("INFO", logger="bau.evaluation.cli"):
            fresh = evaluate(run, root, tmp_path / "fresh")
        assert REUSED not in caplog.text
    finally:
        record.write_text(saved)
    assert {k: reused[k] for k in ("dataset", "epoch", "selection", "checkpoint")} == {
        k: fresh[k] for k in ("dataset", "epoch", "selection", "checkpoint")
    }
    assert reused["summary"].keys() == fresh["summary"].keys()
    for name, value in reused["summary"].items():  # channels_last vs default memory format: float rounding
        assert value["mean"] == pytest.approx(fresh["summary"][name]["mean"], abs=1e-6)
    a, b = np.load(tmp_path / "reused" / "features.npz"), np.load(tmp_path / "fresh" / "features.npz")
    assert list(a["paths"]) == list(b["paths"])
    np.testing.assert_allclose(a["feats"], b["feats"], atol=1e-4)


@pytest.mark.parametrize(
    "extra",
    [["--flip"], ["--batch-size", "7"], ["--split-seed", "2"]],
    ids=["another option", "another batch size", "another split seed"],
)
def test_another_evaluation_is_computed(trained, tmp_path, caplog, extra):
    root, run = trained
    with caplog.at_level("INFO", logger="bau.evaluation.cli"):
        result = evaluate(run, root, tmp_path, *extra)
    assert REUSED not in caplog.text
    assert result["epoch"] == 2


def test_reuse_does_not_import_torch(trained, tmp_path):
    root, run = trained
    code = (
        "import sys; from bau.cli import main; "
        f"main(['evaluate', '--run', {str(run)!r}, '--selection', 'last', '--dataset', 'market1501', "
        f"'--data-root', {str(root)!r}, '--splits-dir', {str(root / 'splits')!r}, '--split-seed', '1', "
        f"'--out', {str(tmp_path / 'm.json')!r}, '--device', 'cpu']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
