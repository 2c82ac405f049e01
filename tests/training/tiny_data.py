"""A run config for a few CPU iterations on the tiny two-domain benchmark
(tests.fixtures.datasets.write_benchmark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.datasets import MODEL_HEIGHT, MODEL_WIDTH


def tiny_run_config(data_root: Path, **train) -> dict:
    """A run config (partial; schema defaults fill the rest) for a few CPU iterations."""
    return {
        "seed": 1,
        "data": {
            "root": str(data_root),
            "sources": ["market1501", "msmt17"],
            "targets": ["market1501"],
            "splits_dir": str(data_root / "splits"),
            "workers": 0,
        },
        "model": {"arch": "resnet18", "pretrained": "none", "height": MODEL_HEIGHT, "width": MODEL_WIDTH},
        "train": {
            "batch_size": 16,
            "num_instances": 4,
            "epochs": 2,
            "iters": 3,
            "lr": 3.5e-4,
            "warmup_epochs": 1,
            "milestones": [10],
            "eval_epochs": [1],
            "device": "cpu",
            "log_every": 1,
            **train,
        },
        "eval": {"batch_size": 64},
    }


class Interrupted(Exception):
    """Raised by the patched Trainer.save after epoch 1: a process killed between epochs."""


def run_full_and_resumed(cfg: dict, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    """Train ``cfg`` into out/full; train it into out/resumed but stop it right after epoch 1's
    checkpoint, then rerun it there (resuming). Returns both runs' final records."""
    from bau.training.trainer import Trainer

    full = Trainer(cfg, out / "full").run()
    original_save = Trainer.save

    def save_then_die(self, epoch):
        original_save(self, epoch)
        if epoch == 1:
            raise Interrupted

    monkeypatch.setattr(Trainer, "save", save_then_die)
    with pytest.raises(Interrupted):
        Trainer(cfg, out / "resumed").run()
    assert not (out / "resumed" / "final.json").exists()
    monkeypatch.setattr(Trainer, "save", original_save)
    return full, Trainer(cfg, out / "resumed").run()
