"""Tiny dataset trees in the exact layouts and file formats of the real datasets.

Each builder writes a handful of small images (JPEG, PNG or BMP as the real dataset has)
under a data root and returns the relative paths it wrote. The file names are chosen so the
expected parses can be written down by hand in the tests.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP"}


@functools.cache
def image_bytes(suffix: str) -> bytes:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, size=(16, 8, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    img.save(buffer, format=FORMATS[suffix])
    return buffer.getvalue()


def write_images(root: Path, relpaths: list[str]) -> list[str]:
    for rel in relpaths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(path.suffix))
    return relpaths


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


MARKET = "Market-1501-v15.09.15"
MARKET_FILES = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000551_01.jpg", "0007_c3s1_000101_01.jpg",
                           "0005_c6s2_000201_02.jpg"],
    "query": ["0010_c1s1_001051_00.jpg", "0011_c2s1_001151_00.jpg"],
    "bounding_box_test": ["0010_c2s1_001052_01.jpg", "0011_c3s1_001152_01.jpg", "0011_c4s1_001153_01.jpg",
                          "0000_c1s1_000001_01.jpg", "0000_c5s1_000002_01.jpg", "-1_c1s1_000003_01.jpg"],
}


def build_market(root: Path) -> list[str]:
    return write_images(root, [f"{MARKET}/{sub}/{name}" for sub, names in MARKET_FILES.items() for name in names])


MSMT_FILES = {
    "bounding_box_train": ["0000_c1_0000.jpg", "0000_c15_0001.jpg", "0003_c7_0002.jpg"],
    "query": ["0001_c2_0003.jpg", "0004_c3_0004.jpg"],
    "bounding_box_test": ["0001_c5_0005.jpg", "0004_c9_0006.jpg", "0004_c10_0007.jpg"],
}


def build_msmt17(root: Path) -> list[str]:
    return write_images(root, [f"MSMT17/{sub}/{name}" for sub, names in MSMT_FILES.items() for name in names])


CUHK03_FILES = {
    "bounding_box_train": ["0001_c1_1.png", "0001_c2_2.png", "0003_c1_1.png"],
    "query": ["0002_c1_1.png", "0004_c2_1.png"],
    "bounding_box_test": ["0002_c2_2.png", "0004_c1_2.png", "0004_c1_3.png"],
}


def build_cuhk03(root: Path) -> list[str]:
    return write_images(root, [f"cuhk03-np/detected/{sub}/{name}" for sub, names in CUHK03_FILES.items() for name in names])


# pair -> person ids; each person has one image per camera. P2 reuses "001" (another person).
CUHK02_PERSONS = {"P1": ["001", "002"], "P2": ["001"], "P3": ["004", "003"], "P4": ["010"], "P5": ["020", "021"]}


def build_cuhk02(root: Path) -> list[str]:
    return write_images(root, [f"cuhk02/Dataset/{pair}/cam{cam}/{pid}_{cam}0.png"
                               for pair, pids in CUHK02_PERSONS.items() for pid in pids for cam in (1, 2)])


CUHKSYSU_FILES = ["00003_c0_000000.jpg", "00003_c1_000001.jpg", "00010_c1_000002.jpg", "00001_c0_000003.jpg"]


def build_cuhksysu(root: Path) -> list[str]:
    return write_images(root, [f"CUHK-SYSU/bounding_box_train/{name}" for name in CUHKSYSU_FILES])


# GRID: persons 1..6 in probe and gallery, 2 gallery distractors (index 0).
GRID_IDS = 6
GRID_TRAIN = [[2, 5, 1], [6, 3, 4], [1, 2, 3], [4, 5, 6], [1, 3, 5], [2, 4, 6], [1, 4, 6], [2, 3, 5], [3, 6, 1], [5, 4, 2]]


def grid_name(index: int, cam: int, n: int) -> str:
    return f"{index:04d}_{cam}_{25000 + n}_107_32_106_221.jpeg"


def build_grid(root: Path) -> list[str]:
    rels = []
    for index in range(1, GRID_IDS + 1):
        probe_cam = (index - 1) % 8 + 1
        rels.append(f"underground_reid/probe/{grid_name(index, probe_cam, index)}")
        rels.append(f"underground_reid/gallery/{grid_name(index, probe_cam % 8 + 1, 100 + index)}")
    rels += [f"underground_reid/gallery/{grid_name(0, cam, 200 + cam)}" for cam in (3, 8)]
    write_images(root, rels)
    write_grid_mat(root / "underground_reid/features_and_partitions.mat", GRID_TRAIN)
    return rels


def write_grid_mat(path: Path, train_sets: list[list[int]]) -> None:
    """features_and_partitions.mat as in the real file: ``trainIdxAll`` a 1x10 cell of 1x1
    structs whose third field ``idxTrain`` is a 1xK row of person indices (doubles)."""
    fields = [("idxProbe", object), ("idxGallery", object), ("idxTrain", object)]
    cells = np.empty((1, len(train_sets)), dtype=object)
    for k, train in enumerate(train_sets):
        test = np.setdiff1d(np.arange(1, GRID_IDS + 1), train).astype(np.float64).reshape(1, -1)
        record = np.empty((1, 1), dtype=fields)
        record[0, 0] = (test, test, np.asarray(train, dtype=np.float64).reshape(1, -1))
        cells[0, k] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"trainIdxAll": cells, "features": np.zeros((2, 3))})


# iLIDS: person -> number of images (PPPPSSS.jpg, SSS from 001).
ILIDS_IMAGES = {1: 2, 2: 3, 3: 2, 4: 4, 5: 2, 7: 2}


def build_ilids(root: Path) -> list[str]:
    return write_images(root, [f"QMUL-iLIDS/i-LIDS_Pedestrian/Persons/{pid:04d}{seq:03d}.jpg"
                               for pid, count in ILIDS_IMAGES.items() for seq in range(1, count + 1)])


# PRID: persons 1..S shared; cam_a has S+A persons, cam_b S+B (the extra ones are other people).
PRID_SHARED, PRID_CAM_A, PRID_CAM_B = 200, 203, 206


def build_prid(root: Path, shared: int = PRID_SHARED, cam_a: int = PRID_CAM_A, cam_b: int = PRID_CAM_B) -> list[str]:
    return write_images(root, [f"prid_2011/single_shot/{cam}/person_{number:04d}.png"
                               for cam, total in (("cam_a", cam_a), ("cam_b", cam_b)) for number in range(1, total + 1)])


VIPER_IDS = 8


def build_viper(root: Path, ids: int = VIPER_IDS) -> list[str]:
    angles = [0, 45, 90, 135, 180]
    return write_images(root, [f"VIPeR/{cam}/{i:03d}_{angles[(i + c) % 5]}.bmp"
                               for c, cam in enumerate(("cam_a", "cam_b")) for i in range(ids)])


BUILDERS = {
    "market1501": build_market, "msmt17": build_msmt17, "cuhk03": build_cuhk03, "cuhk02dg": build_cuhk02,
    "cuhksysu": build_cuhksysu, "grid": build_grid, "ilids": build_ilids, "prid": build_prid, "viper": build_viper,
}


def build_all(root: Path) -> Path:
    for build in BUILDERS.values():
        build(root)
    return root
