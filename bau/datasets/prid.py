"""PRID-2011, single shot (``prid``), docs/reference.md §1.12.

``prid_2011/single_shot/{cam_a,cam_b}/person_XXXX.png``. Persons 1..S (S = 200) are seen by
both cameras; higher numbers are different people in each camera. Each split: S/2 of the
shared persons for training (both images), the others as queries (cam_a) with their cam_b
image in the gallery, plus every cam_b person above S as a distractor.

A synthetic benchmark with fewer shared persons records S as ``prid_shared_ids`` in its
marker file (``bau_synthetic.json`` at the data root).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bau.datasets.base import (
    ImageItem,
    Layout,
    SplitEntry,
    files_digest,
    relabel,
    split_entry,
)
from bau.datasets.stats import DatasetStats
from bau.errors import DatasetError
from bau.io import read_json
from bau.layout import SYNTHETIC_MARKER

FOLDER = "prid_2011"
NUM_SPLITS = 10
SHARED_IDS = 200
CAMERAS = ("cam_a", "cam_b")
LAYOUT = Layout(
    dataset="prid",
    title="PRID-2011",
    folder=FOLDER,
    image_dirs=tuple(f"{FOLDER}/single_shot/{cam}" for cam in CAMERAS),
    pattern="*.png",
    how_to="download PRID-2011 and unpack it into the data root as prid_2011/ "
    "(only single_shot/cam_a and single_shot/cam_b are read).",
)
_NAME = re.compile(r"^person_(\d{4})\.png$")


def shared_ids(root: Path) -> int:
    marker = Path(root) / SYNTHETIC_MARKER
    if marker.is_file():
        return int(read_json(marker).get("prid_shared_ids", SHARED_IDS))
    return SHARED_IDS


def _parse(path: Path, camid: int) -> ImageItem:
    match = _NAME.match(path.name)
    if match is None:
        raise DatasetError(
            f"prid: cannot read the person number from the file name {path} "
            f"(expected person_XXXX.png); remove files that do not belong"
        )
    return ImageItem(str(path), int(match.group(1)), camid)


def read_images(root: Path) -> tuple[dict[int, ImageItem], dict[int, ImageItem]]:
    """cam_a and cam_b images by person number; checks that 1..S are in both cameras."""
    LAYOUT.check(root)
    cams = tuple(
        {item.pid: item for item in (_parse(p, c) for p in LAYOUT.image_paths(root, rel))}
        for c, rel in enumerate(LAYOUT.image_dirs)
    )
    shared = shared_ids(root)
    for rel, images in zip(LAYOUT.image_dirs, cams):
        missing = [pid for pid in range(1, shared + 1) if pid not in images]
        if missing:
            raise DatasetError(
                f"prid: persons 1..{shared} must all be in {Path(root) / rel} (they are the people seen by "
                f"both cameras), but {len(missing)} are missing, e.g. person_{missing[0]:04d}.png. "
                f"Download PRID-2011 again."
            )
    return cams


def make_splits(root: Path, seed: int) -> list[SplitEntry]:
    cam_a, cam_b = read_images(root)
    shared = shared_ids(root)
    distractors = [cam_b[pid] for pid in sorted(cam_b) if pid > shared]
    rng = np.random.default_rng(seed)
    entries = []
    for _ in range(NUM_SPLITS):
        train_pids = set(rng.choice(np.arange(1, shared + 1), size=shared // 2, replace=False).tolist())
        test_pids = [pid for pid in range(1, shared + 1) if pid not in train_pids]
        train = relabel((cam[pid].path, pid, cam[pid].camid) for pid in sorted(train_pids) for cam in (cam_a, cam_b))
        query = [cam_a[pid] for pid in test_pids]
        gallery = [cam_b[pid] for pid in test_pids] + distractors
        entries.append(split_entry(root, train, query, gallery))
    return entries


def fingerprint(root: Path) -> str:
    return files_digest(root, LAYOUT.all_images(root), f"shared={shared_ids(root)}".encode())


def count(root: Path) -> DatasetStats:
    cam_a, cam_b = read_images(root)
    shared = shared_ids(root)
    only_a, only_b = sum(pid > shared for pid in cam_a), sum(pid > shared for pid in cam_b)
    return DatasetStats(images=len(cam_a) + len(cam_b), ids=shared + only_a + only_b, cameras=len(CAMERAS))
