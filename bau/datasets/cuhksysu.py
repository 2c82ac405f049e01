"""CUHK-SYSU person crops, training only (``cuhksysu``), docs/reference.md §1.9.

Only ``CUHK-SYSU/bounding_box_train`` is read, in every protocol. Names are Market-style
(``PPPPP_cC_*.jpg``) with cameras 0 or 1, used as they are (not decremented).
"""

from __future__ import annotations

import re
from pathlib import Path

from bau.datasets.base import Layout, ReIDDataset, check_range, parse_name, read_folder, relabel
from bau.datasets.stats import DatasetStats

FOLDER = "CUHK-SYSU"
LAYOUT = Layout(
    dataset="cuhksysu",
    title="CUHK-SYSU",
    folder=FOLDER,
    image_dirs=(f"{FOLDER}/bounding_box_train",),
    pattern="*.jpg",
    how_to="crop the CUHK-SYSU person boxes into Market-style files (PPPPP_cC_*.jpg, C = 0 or 1) "
    "under CUHK-SYSU/bounding_box_train/ in the data root.",
)
_NAME = re.compile(r"([-\d]+)_c(\d)")


def _parse(path: Path) -> tuple[int, int]:
    pid, cam = parse_name(path, _NAME, "cuhksysu", "00001_c0_000000.jpg")
    check_range(cam, 0, 1, "camera", path, "cuhksysu")
    return pid, cam


def load(root: Path) -> ReIDDataset:
    LAYOUT.check(root)
    return ReIDDataset("cuhksysu", Path(root), relabel(read_folder(LAYOUT, root, LAYOUT.image_dirs[0], _parse)))


def count(root: Path) -> DatasetStats:
    dataset = load(root)
    return DatasetStats(
        train_images=len(dataset.train), train_ids=dataset.num_train_pids, cameras=dataset.num_train_cams
    )
