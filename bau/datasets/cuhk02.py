"""CUHK02, all five camera pairs as training data (``cuhk02dg``), docs/reference.md §1.8.

Person ids are the first ``_`` token of the file name and are only unique within a camera
pair, so each pair's identities get their own block of labels (offset by the identities of
the previous pairs). Cameras are numbered by a running counter: P1/cam1 = 0, P1/cam2 = 1,
P2/cam1 = 2, ..., P5/cam2 = 9.
"""

from __future__ import annotations

from pathlib import Path

from bau.datasets.base import Layout, ReIDDataset, relabel
from bau.datasets.stats import DatasetStats

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
    # Keyed by (pair, pid): the labels of each pair form one block, pairs in order. The
    # camid is the folder's position in LAYOUT.image_dirs (pair-major: 2 * pair + camera).
    keyed = [
        (str(path), (camid // len(CAMERAS), path.name.split("_")[0]), camid)
        for camid, folder in enumerate(LAYOUT.image_dirs)
        for path in LAYOUT.image_paths(root, folder)
    ]
    return ReIDDataset("cuhk02dg", Path(root), relabel(keyed))


def count(root: Path) -> DatasetStats:
    dataset = load_dg(root)
    return DatasetStats(images=len(dataset.train), ids=dataset.num_train_pids, cameras=dataset.num_train_cams)
