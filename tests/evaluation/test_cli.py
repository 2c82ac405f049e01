"""`bau evaluate` and `bau extract` end to end on tiny image trees."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bau.cli import main
from bau.io import read_json, write_json
from tests.evaluation.tiny_data import make_checkpoint

CONTRACT_KEYS = ["dataset", "checkpoint", "epoch", "selection", "synthetic", "num_splits", "rerank", "flip",
                 "splits", "summary", "cmc"]
SPLIT_KEYS = ["split", "mAP", "mINP", "rank1", "rank5", "rank10", "cmc", "num_query", "num_gallery"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished run: epochs 1 and 2 saved, market1501 its target, epoch 1 the best."""
    run = tmp_path_factory.mktemp("run")
    make_checkpoint(run / "checkpoints" / "epoch_001.pth", epoch=1, seed=1)
    make_checkpoint(run / "checkpoints" / "epoch_002.pth", epoch=2, seed=2)
    metrics = {"mAP": 0.5, "rank1": 0.5, "rank5": 0.5, "rank10": 0.5, "mINP": 0.5}
    write_json(run / "final.json", {
        "epochs": 2,
        "config_hash": "test",
        "targets": {"market1501": {
            "last": {**metrics, "epoch": 2, "checkpoint": "checkpoints/epoch_002.pth"},
            "best_of_eval": {**metrics, "epoch": 1, "checkpoint": "checkpoints/epoch_001.pth"},
        }},
    })
    return run


def test_evaluate_checkpoint_writes_the_contract_json(run_dir, root, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    checkpoint = run_dir / "checkpoints" / "epoch_002.pth"
    code = main(["evaluate", "--checkpoint", str(checkpoint), "--dataset", "viper", "--data-root", str(root),
                 "--out", str(out), "--device", "cpu", "--batch-size", "4", "--save-features", str(tmp_path / "f.npz")])
    assert code == 0
    metrics = read_json(out)
    assert list(metrics) == CONTRACT_KEYS
    assert metrics["selection"] == "checkpoint" and metrics["epoch"] == 2 and metrics["checkpoint"] == str(checkpoint)
    assert metrics["num_splits"] == 10 and list(metrics["splits"][0]) == SPLIT_KEYS
    assert all(0 <= s["mAP"] <= 1 for s in metrics["splits"])
    assert set(np.load(tmp_path / "f.npz")) == {"feats", "pids", "camids", "paths", "is_query"}
    assert "viper (10 split(s))" in capsys.readouterr().out


@pytest.mark.parametrize(("selection", "epoch"), [("last", 2), ("best_of_eval", 1)])
def test_evaluate_run_picks_the_selected_checkpoint(run_dir, root, tmp_path, selection, epoch):
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--run", str(run_dir), "--selection", selection, "--dataset", "market1501",
                 "--data-root", str(root), "--out", str(out), "--device", "cpu"]) == 0
    metrics = read_json(out)
    assert metrics["selection"] == selection and metrics["epoch"] == epoch
    assert metrics["checkpoint"].endswith(f"epoch_{epoch:03d}.pth")


def test_evaluate_run_errors_name_the_problem(run_dir, root, tmp_path, capsys):
    common = ["--data-root", str(root), "--out", str(tmp_path / "m.json"), "--device", "cpu"]
    assert main(["evaluate", "--run", str(run_dir), "--dataset", "market1501", *common]) == 2
    assert "--selection" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(run_dir), "--selection", "best_of_eval", "--dataset", "viper", *common]) == 2
    assert "not evaluated on viper" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir / "checkpoints", unfinished / "checkpoints")
    assert main(["evaluate", "--run", str(unfinished), "--selection", "last", "--dataset", "viper", *common]) == 2
    assert "final.json is missing" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pth"), "--dataset", "viper", *common]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_extract_writes_features_of_every_image(run_dir, root, tmp_path, capsys):
    out = tmp_path / "features.npz"
    assert main(["extract", str(root / "VIPeR"), "--checkpoint", str(run_dir / "checkpoints" / "epoch_001.pth"),
                 "--out", str(out), "--device", "cpu"]) == 0
    saved = np.load(out)
    assert saved["paths"][0] == "cam_a/000_0.bmp" and len(saved["paths"]) == 16
    assert list(saved["paths"]) == sorted(saved["paths"])
    assert saved["feats"].shape == (16, 512) and saved["feats"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(saved["feats"], axis=1), 1, atol=1e-5)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["extract", str(empty), "--checkpoint", "x.pth", "--out", str(tmp_path / "x.npz")]) == 2
    assert "holds no image" in capsys.readouterr().err
