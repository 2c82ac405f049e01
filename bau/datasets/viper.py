"""VIPeR (``viper``), docs/reference.md §1.13 and section 8.

``VIPeR/{cam_a,cam_b}/*.bmp``: the i-th file of sorted cam_a and the i-th of sorted cam_b show
person i. Each split: half of the persons for training (both images), the other half tested
with query = cam_a, gallery = cam_b. The other direction (query = cam_b, gallery = cam_a) is
the same split entry with query and gallery swapped (``create_dataset(..., direction="b_to_a")``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bau.datasets.base import ImageItem, Layout, SplitEntry, files_digest, relabel, split_entry
from bau.datasets.stats import DatasetStats
from bau.errors import DatasetError

FOLDER = "VIPeR"
NUM_SPLITS = 10
CAMERAS = ("cam_a", "cam_b")
LAYOUT = Layout(
    dataset="viper",
    title="VIPeR",
    folder=FOLDER,
    image_dirs=tuple(f"{FOLDER}/{cam}" for cam in CAMERAS),
    pattern="*.bmp",
    how_to="download VIPeR and unpack it into the data root as VIPeR/cam_a/ and VIPeR/cam_b/.",
)


def read_images(root: Path) -> tuple[list[ImageItem], list[ImageItem]]:
    """(cam_a, cam_b) with pid = position in the sorted folder (the person index)."""
    LAYOUT.check(root)
    cams = tuple(
        [ImageItem(str(path), i, c) for i, path in enumerate(LAYOUT.image_paths(root, rel))]
        for c, rel in enumerate(LAYOUT.image_dirs)
    )
    if len(cams[0]) != len(cams[1]):
        raise DatasetError(
            f"viper: cam_a holds {len(cams[0])} images and cam_b {len(cams[1])}; the i-th images of both "
            f"folders must show the same person, so the counts must be equal. Download VIPeR again."
        )
    return cams


def make_splits(root: Path, seed: int) -> list[SplitEntry]:
    cam_a, cam_b = read_images(root)
    rng = np.random.default_rng(seed)
    entries = []
    for _ in range(NUM_SPLITS):
        order = rng.permutation(len(cam_a))
        half = len(order) // 2
        train_pids, test_pids = sorted(order[:half].tolist()), sorted(order[half:].tolist())
        train = relabel((cam[pid].path, pid, cam[pid].camid) for pid in train_pids for cam in (cam_a, cam_b))
        entries.append(split_entry(root, train, [cam_a[pid] for pid in test_pids], [cam_b[pid] for pid in test_pids]))
    return entries


def fingerprint(root: Path) -> str:
    return files_digest(root, LAYOUT.all_images(root))


def count(root: Path) -> DatasetStats:
    cam_a, cam_b = read_images(root)
    return DatasetStats(images=len(cam_a) + len(cam_b), ids=len(cam_a), cameras=len(CAMERAS))
