"""QMUL-iLIDS (``ilids``), docs/reference.md §1.11.

``QMUL-iLIDS/i-LIDS_Pedestrian/Persons/PPPPSSS.jpg``: person PPPP, image SSS; the image
number minus one is the camera id (a pseudo camera, so two images of a person never share
one). Each split: half of the persons (rounded down) for training, and for every other person
two of its images drawn at random, the first as query, the second as gallery.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from bau.datasets.base import ImageItem, Layout, SplitEntry, files_digest, relabel, split_entry
from bau.datasets.stats import DatasetStats
from bau.errors import DatasetError

FOLDER = "QMUL-iLIDS"
NUM_SPLITS = 10
TRAIN_FRACTION = 0.5
LAYOUT = Layout(
    dataset="ilids",
    title="QMUL-iLIDS",
    folder=FOLDER,
    image_dirs=(f"{FOLDER}/i-LIDS_Pedestrian/Persons",),
    pattern="*.jpg",
    how_to="download QMUL-iLIDS and unpack it into the data root as QMUL-iLIDS/i-LIDS_Pedestrian/Persons/.",
)
_NAME = re.compile(r"^(\d{4})(\d{3})\.jpg$")


def _parse(path: Path) -> ImageItem:
    match = _NAME.match(path.name)
    if match is None:
        raise DatasetError(
            f"ilids: cannot read person and image number from the file name {path} "
            f"(expected PPPPSSS.jpg, e.g. 0001001.jpg); remove files that do not belong"
        )
    return ImageItem(str(path), int(match.group(1)), int(match.group(2)) - 1)


def read_images(root: Path) -> list[ImageItem]:
    LAYOUT.check(root)
    return [_parse(path) for path in LAYOUT.image_paths(root, LAYOUT.image_dirs[0])]


def make_splits(root: Path, seed: int) -> list[SplitEntry]:
    by_pid: dict[int, list[ImageItem]] = defaultdict(list)
    for item in read_images(root):
        by_pid[item.pid].append(item)
    single = sorted(pid for pid, items in by_pid.items() if len(items) < 2)
    if single:
        raise DatasetError(
            f"ilids: persons {single} have a single image in {Path(root) / LAYOUT.image_dirs[0]}; "
            f"every person needs two (query and gallery). Download QMUL-iLIDS again."
        )
    pids = sorted(by_pid)  # sorted before shuffling, so the splits depend on the seed only
    num_train = int(len(pids) * TRAIN_FRACTION)
    rng = np.random.default_rng(seed)
    entries = []
    for _ in range(NUM_SPLITS):
        order = rng.permutation(pids)
        train_pids, test_pids = sorted(order[:num_train]), sorted(order[num_train:])
        train = relabel((item.path, item.pid, item.camid) for pid in train_pids for item in by_pid[pid])
        query, gallery = [], []
        for pid in test_pids:
            first, second = rng.choice(len(by_pid[pid]), size=2, replace=False)
            query.append(by_pid[pid][first])
            gallery.append(by_pid[pid][second])
        entries.append(split_entry(root, train, query, gallery))
    return entries


def fingerprint(root: Path) -> str:
    return files_digest(root, LAYOUT.all_images(root))


def count(root: Path) -> DatasetStats:
    items = read_images(root)
    return DatasetStats(images=len(items), ids=len({item.pid for item in items}))
