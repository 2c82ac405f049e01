"""A tiny two-domain re-ID benchmark in the Market-1501 / MSMT17 folder layouts.

An identity is a pair of (colour, texture) for the upper and the lower body; textures
(plain, horizontal stripes, vertical stripes, checks) survive the InstanceNorm layers of the
models, which remove per-channel brightness. Each domain adds its own colour cast, and each
image noise and a small vertical shift. Images are 32 x 16 JPEGs, trained at 64 x 32 (the
reference's 10-pixel padding before the random crop would leave little of a 32 x 16 image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FOLDERS = {"market1501": "Market-1501-v15.09.15", "msmt17": "MSMT17"}
HEIGHT, WIDTH = 32, 16  # on disk
MODEL_HEIGHT, MODEL_WIDTH = 64, 32


def _texture(kind: int, height: int, width: int) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    patterns = [np.ones((height, width)), (rows // 2) % 2, (cols // 2) % 2, ((rows // 2) + (cols // 2)) % 2]
    return 0.4 + 0.6 * patterns[kind]


def _image(rng: np.random.Generator, identity: tuple, cast: np.ndarray) -> Image.Image:
    half = HEIGHT // 2
    parts = []
    for colour, kind in identity:
        parts.append(_texture(kind, half, WIDTH)[:, :, None] * colour[None, None, :])
    img = np.concatenate(parts, axis=0) + cast + rng.normal(0, 8, size=(HEIGHT, WIDTH, 3))
    img = np.roll(img, int(rng.integers(-2, 3)), axis=0)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _identity(rng: np.random.Generator, index: int) -> tuple:
    kinds = (index % 4, (index // 4) % 4)  # distinct textures for up to 16 identities
    return tuple((rng.uniform(60, 255, size=3), kind) for kind in kinds)


def write_domain(root: Path, name: str, *, train_ids: int, test_ids: int, per_id: int, seed: int) -> None:
    """bounding_box_train (train_ids x per_id), query (1 per test id), bounding_box_test (3 per test id)."""
    rng = np.random.default_rng(seed)
    cast = rng.uniform(-30, 30, size=3)
    base = root / FOLDERS[name]
    cams = 6 if name == "market1501" else 15

    def write(split: str, pid: int, identity: tuple, count: int, first_cam: int) -> None:
        folder = base / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            cam = (first_cam + i) % cams + 1
            _image(rng, identity, cast).save(folder / f"{pid:04d}_c{cam}s1_{i:06d}_00.jpg", quality=95)

    for pid in range(1, train_ids + 1):
        write("bounding_box_train", pid, _identity(rng, 5 * pid), per_id, pid)
    for pid in range(train_ids + 1, train_ids + test_ids + 1):
        identity = _identity(rng, 3 * pid)
        write("query", pid, identity, 1, 0)
        write("bounding_box_test", pid, identity, 3, 1)


def write_benchmark(root: Path, *, train_ids: int = 8, test_ids: int = 4, per_id: int = 4) -> Path:
    for seed, name in enumerate(FOLDERS):
        write_domain(root, name, train_ids=train_ids, test_ids=test_ids, per_id=per_id, seed=seed)
    return root


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
