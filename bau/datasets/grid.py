"""QMUL GRID (``grid``), docs/reference.md §1.10.

``underground_reid/{probe,gallery}/IIII_C_*.jpeg``: person index IIII (0 = gallery
distractor), camera C (1-8). The ten splits are fixed by ``features_and_partitions.mat``:
``trainIdxAll[0][k][0][0][2][0]`` lists the training person indices of split k. Training
labels follow the order of that list; query = probe images of the other persons, gallery =
gallery images of the other persons plus every distractor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bau.datasets.base import ImageItem, Layout, SplitEntry, check_range, files_digest, split_entry
from bau.datasets.stats import DatasetStats
from bau.errors import DatasetError

FOLDER = "underground_reid"
NUM_SPLITS = 10
PARTITIONS = f"{FOLDER}/features_and_partitions.mat"
LAYOUT = Layout(
    dataset="grid",
    title="GRID",
    folder=FOLDER,
    image_dirs=(f"{FOLDER}/probe", f"{FOLDER}/gallery"),
    files=(PARTITIONS,),
    pattern="*.jpeg",
    how_to="download the QMUL underGround Re-IDentification (GRID) dataset and unpack it into the "
    "data root as underground_reid/ (probe/, gallery/, features_and_partitions.mat).",
    misnamed={
        "underground_grid": "the original BAU README names this folder 'underground_grid', "
        "which is wrong: the parser requires 'underground_reid'."
    },
)


def _parse(path: Path) -> ImageItem:
    tokens = path.name.split("_")
    if len(tokens) < 3 or not tokens[0].isdigit() or not tokens[1].isdigit():
        raise DatasetError(
            f"grid: cannot read person index and camera from the file name {path} "
            f"(expected names like 0001_1_25004_107_32_106_221.jpeg)"
        )
    check_range(int(tokens[1]), 1, 8, "camera", path, "grid")
    return ImageItem(str(path), int(tokens[0]), int(tokens[1]) - 1)


def read_images(root: Path) -> tuple[list[ImageItem], list[ImageItem]]:
    """(probe, gallery) with raw person indices."""
    LAYOUT.check(root)
    probe_dir, gallery_dir = LAYOUT.image_dirs
    return (
        [_parse(p) for p in LAYOUT.image_paths(root, probe_dir)],
        [_parse(p) for p in LAYOUT.image_paths(root, gallery_dir)],
    )


def train_indices(root: Path) -> list[list[int]]:
    """The training person indices of each of the ten splits, in the order of the .mat file."""
    import scipy.io  # only GRID needs it

    path = Path(root) / PARTITIONS
    try:
        cells = scipy.io.loadmat(path)["trainIdxAll"]
        splits = [[int(i) for i in np.asarray(cells[0][k][0][0][2][0]).ravel()] for k in range(NUM_SPLITS)]
    except (scipy.io.matlab.MatReadError, KeyError, IndexError, TypeError, ValueError, OSError) as err:
        raise DatasetError(
            f"grid: cannot read the ten training partitions from {path} ({type(err).__name__}: {err}); "
            f"it must be the original features_and_partitions.mat with a 1x{NUM_SPLITS} cell 'trainIdxAll'. "
            f"Download GRID again."
        ) from err
    return splits


def make_splits(root: Path, seed: int) -> list[SplitEntry]:
    """The ten .mat partitions (``seed`` is not used: GRID's splits are fixed by the dataset)."""
    probe, gallery = read_images(root)
    entries = []
    for k, indices in enumerate(train_indices(root)):
        label = {index: position for position, index in enumerate(indices)}
        if 0 in label or len(label) != len(indices):
            raise DatasetError(
                f"grid: split {k} of {Path(root) / PARTITIONS} lists person index 0 or a "
                f"repeated index; the .mat file is damaged. Download GRID again."
            )
        train = [item._replace(pid=label[item.pid]) for item in [*probe, *gallery] if item.pid in label]
        query = [item for item in probe if item.pid not in label]
        test_gallery = [item for item in gallery if item.pid not in label]
        entries.append(split_entry(root, train, query, test_gallery))
    return entries


def fingerprint(root: Path) -> str:
    return files_digest(root, LAYOUT.all_images(root), (Path(root) / PARTITIONS).read_bytes())


def count(root: Path) -> DatasetStats:
    probe, gallery = read_images(root)
    items = [*probe, *gallery]
    return DatasetStats(
        images=len(items),
        ids=len({item.pid for item in items if item.pid > 0}),
        cameras=len({item.camid for item in items}),
    )
