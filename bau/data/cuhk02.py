"""CUHK02, all five camera pairs as training data (``cuhk02dg``), REFERENCE 1.8.

Person ids are the first ``_`` token of the file name and are only unique within a camera
pair, so each pair's identities get their own block of labels (offset by the identities of
the previous pairs). Cameras are numbered by a running counter: P1/cam1 = 0, P1/cam2 = 1,
P2/cam1 = 2, ..., P5/cam2 = 9.
"""

from __future__ import annotations

from pathlib import Path

from bau.data.base import ImageItem, Layout, ReIDDataset
from bau.data.stats import DatasetStats

FOLDER = "cuhk02"
PAIRS = ("P1", "P2", "P3", "P4", "P5")
CAMERAS = ("cam1", "cam2")
LAYOUT = Layout(
    dataset="cuhk02dg",
    title="CUHK02",
    folder=FOLDER,
    image_dirs=tuple(f"{FOLDER}/Dataset/{pair}/{cam}" for pair in PAIRS for cam in CAMERAS),
    pattern="*.png",
    how_to="request CUHK02 from its authors and unpack it into the data root as "
    "cuhk02/Dataset/P1..P5/cam1|cam2/ (all five camera pairs are used).",
)


def load_dg(root: Path) -> ReIDDataset:
    LAYOUT.check(root)
    train: list[ImageItem] = []
    offset = 0
    for k, pair in enumerate(PAIRS):
        rows = [
            (str(path), path.name.split("_")[0], 2 * k + c)
            for c, cam in enumerate(CAMERAS)
            for path in LAYOUT.image_paths(root, f"{FOLDER}/Dataset/{pair}/{cam}")
        ]
        labels = {pid: offset + i for i, pid in enumerate(sorted({pid for _, pid, _ in rows}))}
        train += [ImageItem(path, labels[pid], camid) for path, pid, camid in rows]
        offset += len(labels)
    return ReIDDataset("cuhk02dg", Path(root), train)


def count(root: Path) -> DatasetStats:
    dataset = load_dg(root)
    return DatasetStats(images=len(dataset.train), ids=dataset.num_train_pids, cameras=dataset.num_train_cams)
