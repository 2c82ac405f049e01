"""Per-epoch seeds; the RNG, optimizer and scheduler states survive a weights-only checkpoint."""

import random

import numpy as np
import torch

from bau.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from bau.training.schedule import WarmupMultiStepLR
from bau.training.seeding import epoch_seed, get_rng_state, seed_everything, set_rng_state


def draw() -> tuple:
    return random.random(), float(np.random.rand()), float(np.random.randn()), torch.rand(3).tolist()


def test_rng_state_round_trip_through_weights_only_file(tmp_path):
    seed_everything(3)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    state = get_rng_state()
    expected = draw()
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam([{"params": [p], "lr": 1e-3, "weight_decay": 5e-4} for p in model.parameters()])
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler = WarmupMultiStepLR(optimizer, milestones=[30, 50])
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    path = tmp_path / "last.pth"
    save_checkpoint(
        path,
        {
            "epoch": 1,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "memory": None,
            "config": {"seed": 1, "train": {"milestones": [30, 50], "lr": 3.5e-4}},
            "rng": state,
        },
    )
    loaded = torch.load(path, weights_only=True)  # must not need any unsafe global
    assert loaded["format"] == FORMAT
    assert load_checkpoint(path)["epoch"] == 1
    seed_everything(99)
    set_rng_state(loaded["rng"])
    assert draw() == expected
    WarmupMultiStepLR(optimizer, milestones=[30, 50]).load_state_dict(loaded["scheduler"])
    optimizer.load_state_dict(loaded["optimizer"])


def test_epoch_seed_depends_on_seed_and_epoch():
    seeds = {epoch_seed(s, e) for s in range(3) for e in range(20)}
    assert len(seeds) == 60
    assert epoch_seed(1, 5) == epoch_seed(1, 5)
