"""Image statistics of synthetic datasets, shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def laplacian_variance(grey: np.ndarray) -> float:
    """Sharpness: variance of the 4-neighbour Laplacian."""
    lap = -4 * grey[1:-1, 1:-1] + grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    return float(lap.var())


def image_features(path: Path) -> np.ndarray:
    """[mean R, mean G, mean B, log sharpness, height, width/height] of one image."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    return np.array(
        [*rgb.reshape(-1, 3).mean(0), np.log(laplacian_variance(grey) + 1.0), rgb.shape[0], rgb.shape[1] / rgb.shape[0]]
    )
