"""Tiny image trees (Market-1501 and VIPeR layouts) and a tiny checkpoint for evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bau.checkpoint import save_checkpoint
from bau.models import create_model

HEIGHT, WIDTH = 64, 32
VIPER_PERSONS = 8


def person_image(pid: int, variant: int, rng: np.random.Generator) -> Image.Image:
    """A 64 x 32 image: a colour per person, a little noise per image."""
    colour = np.random.default_rng(pid + 1000).integers(0, 256, 3)
    noise = rng.integers(-40, 40, (HEIGHT, WIDTH, 3)) + 10 * variant
    return Image.fromarray(np.clip(colour + noise, 0, 255).astype(np.uint8))


def make_viper(root: Path) -> None:
    rng = np.random.default_rng(0)
    for cam_index, cam in enumerate(("cam_a", "cam_b")):
        folder = root / "VIPeR" / cam
        folder.mkdir(parents=True)
        for person in range(VIPER_PERSONS):
            person_image(person, cam_index, rng).save(folder / f"{person:03d}_{cam_index * 90}.bmp")


def make_market(root: Path) -> None:
    """3 training ids; query ids 1-4 on camera 1; gallery with junk (-1), a distractor (0)
    and a same-camera image of person 1."""
    rng = np.random.default_rng(1)
    base = root / "Market-1501-v15.09.15"
    names = {
        "bounding_box_train": ["0007_c1s1_000001_00.jpg", "0007_c2s1_000001_00.jpg", "0008_c1s1_000001_00.jpg",
                               "0009_c3s1_000001_00.jpg"],
        "query": [f"{pid:04d}_c1s1_000002_00.jpg" for pid in (1, 2, 3, 4)],
        "bounding_box_test": ["0001_c2s1_000003_00.jpg", "0001_c1s1_000004_00.jpg", "0002_c3s1_000003_00.jpg",
                              "0003_c4s1_000003_00.jpg", "0004_c5s1_000003_00.jpg", "0004_c6s1_000004_00.jpg",
                              "0000_c2s1_000005_00.jpg", "-1_c3s1_000006_00.jpg"],
    }
    for folder, files in names.items():
        (base / folder).mkdir(parents=True)
        for index, name in enumerate(files):
            pid = max(int(name.split("_")[0]), 0)
            person_image(pid, index, rng).save(base / folder / name)


def make_checkpoint(path: Path, epoch: int = 2, seed: int = 0, config: dict | None = None) -> Path:
    """A resnet18 (random init, BN running stats nudged so eval mode is not trivial) as ``bau train`` saves it;
    ``config`` = the saved run config (schema defaults fill what it leaves out)."""
    torch.manual_seed(seed)
    model = create_model("resnet18", 3, pretrained="none", height=HEIGHT, width=WIDTH)
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, HEIGHT, WIDTH))  # running statistics away from 0 / 1
    save_checkpoint(
        path,
        {
            "epoch": epoch,
            "model_config": model.model_config,
            "model": model.state_dict(),
            "optimizer": None,
            "scheduler": None,
            "scaler": None,
            "memory": None,
            "config": config or {"data": {"split_seed": 1, "splits_dir": None, "workers": 0}},
            "config_hash": "test",
        },
    )
    return path
