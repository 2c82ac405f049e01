"""`bau evaluate` and `bau extract` end to end on tiny image trees."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bau.cli import main
from bau.io import read_json, torch_save, write_json
from tests.evaluation.tiny_data import make_checkpoint


class Payload:
    """An object a pickle must build: what loading a checkpoint refuses."""


CONTRACT_KEYS = [
    "dataset",
    "checkpoint",
    "epoch",
    "selection",
    "synthetic",
    "num_splits",
    "rerank",
    "flip",
    "splits",
    "summary",
    "cmc",
]
SPLIT_KEYS = ["split", "mAP", "mINP", "rank1", "rank5", "rank10", "cmc", "num_query", "num_gallery"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished run: epochs 1 and 2 saved, market1501 its target, epoch 1 the best."""
    run = tmp_path_factory.mktemp("run")
    make_checkpoint(run / "checkpoints" / "epoch_001.pth", epoch=1, seed=1)
    make_checkpoint(run / "checkpoints" / "epoch_002.pth", epoch=2, seed=2)
    metrics = {"mAP": 0.5, "rank1": 0.5, "rank5": 0.5, "rank10": 0.5, "mINP": 0.5}
    write_json(
        run / "final.json",
        {
            "epochs": 2,
            "config_hash": "test",
            "targets": {
                "market1501": {
                    "last": {**metrics, "epoch": 2, "checkpoint": "checkpoints/epoch_002.pth"},
                    "best_of_eval": {**metrics, "epoch": 1, "checkpoint": "checkpoints/epoch_001.pth"},
                }
            },
        },
    )
    return run


def test_evaluate_checkpoint_writes_the_contract_json(run_dir, root, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    checkpoint = run_dir / "checkpoints" / "epoch_002.pth"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(checkpoint),
            "--dataset",
            "viper",
            "--data-root",
            str(root),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--batch-size",
            "4",
            "--save-features",
            str(tmp_path / "f.npz"),
        ]
    )
    assert code == 0
    metrics = read_json(out)
    assert list(metrics) == CONTRACT_KEYS
    assert metrics["selection"] == "checkpoint" and metrics["epoch"] == 2 and metrics["checkpoint"] == str(checkpoint)
    assert metrics["num_splits"] == 10 and list(metrics["splits"][0]) == SPLIT_KEYS
    assert all(0 <= s["mAP"] <= 1 for s in metrics["splits"])
    assert set(np.load(tmp_path / "f.npz")) == {"feats", "pids", "camids", "paths", "is_query"}
    assert "viper (10 split(s))" in capsys.readouterr().out


def evaluate_run(run_dir, root, out, selection, dataset) -> int:
    """`bau evaluate --run` on CPU, as the workflow's evaluate rule calls it."""
    args = ["--run", str(run_dir), "--selection", selection, "--dataset", dataset, "--data-root", str(root)]
    return main(["evaluate", *args, "--out", str(out), "--device", "cpu"])


@pytest.mark.parametrize(("selection", "epoch"), [("last", 2), ("best_of_eval", 1)])
def test_evaluate_run_picks_the_selected_checkpoint(run_dir, root, tmp_path, selection, epoch):
    out = tmp_path / "metrics.json"
    assert evaluate_run(run_dir, root, out, selection, "market1501") == 0
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


def test_evaluate_run_last_on_another_dataset_is_the_final_checkpoint(run_dir, root, tmp_path):
    out = tmp_path / "metrics.json"
    assert evaluate_run(run_dir, root, out, "last", "viper") == 0
    metrics = read_json(out)
    assert metrics["epoch"] == 2 and metrics["checkpoint"] == str(run_dir / "checkpoints" / "epoch_002.pth")


def test_evaluate_uses_the_runs_eval_settings_unless_overridden(root, tmp_path):
    config = {"data": {"split_seed": 1, "splits_dir": None, "workers": 0}, "eval": {"rerank": True, "max_rank": 10}}
    checkpoint = make_checkpoint(tmp_path / "c.pth", config=config)
    common = [
        "evaluate",
        "--checkpoint",
        str(checkpoint),
        "--dataset",
        "market1501",
        "--data-root",
        str(root),
        "--device",
        "cpu",
    ]
    assert main([*common, "--out", str(tmp_path / "run.json")]) == 0
    as_run = read_json(tmp_path / "run.json")
    assert as_run["rerank"] is True and len(as_run["cmc"]) == 10 and as_run["flip"] is False
    assert main([*common, "--out", str(tmp_path / "given.json"), "--no-rerank", "--flip", "--max-rank", "12"]) == 0
    given = read_json(tmp_path / "given.json")
    assert given["rerank"] is False and len(given["cmc"]) == 12 and given["flip"] is True


def test_a_refused_checkpoint_says_what_and_what_to_do(root, tmp_path, capsys):
    unsafe = tmp_path / "unsafe.pth"
    torch_save(unsafe, {"format": "bau-checkpoint-v1", "model": Payload()})
    common = ["--checkpoint", str(unsafe), "--out", str(tmp_path / "out"), "--device", "cpu"]
    assert main(["evaluate", "--dataset", "viper", "--data-root", str(root), *common]) == 2
    assert main(["extract", str(root / "VIPeR"), *common]) == 2
    for message in capsys.readouterr().err.strip().splitlines():
        assert f"refused to load {unsafe}" in message and "written by `bau train`" in message
        assert "weights_only" not in message and "from scratch" not in message
    assert not (tmp_path / "out").exists()


def test_extract_writes_features_of_every_image(run_dir, root, tmp_path, capsys):
    out = tmp_path / "features.npz"
    assert (
        main(
            [
                "extract",
                str(root / "VIPeR"),
                "--checkpoint",
                str(run_dir / "checkpoints" / "epoch_001.pth"),
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    saved = np.load(out)
    assert saved["paths"][0] == "cam_a/000_0.bmp" and len(saved["paths"]) == 16
    assert list(saved["paths"]) == sorted(saved["paths"])
    assert saved["feats"].shape == (16, 512) and saved["feats"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(saved["feats"], axis=1), 1, atol=1e-5)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["extract", str(empty), "--checkpoint", "x.pth", "--out", str(tmp_path / "x.npz")]) == 2
    assert "holds no image" in capsys.readouterr().err
