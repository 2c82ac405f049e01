"""CUHK02 (per-pair label offsets, running camera counter) and CUHK-SYSU (docs/reference.md §1.8-1.9)."""

from __future__ import annotations

import pytest

from bau.datasets import create_dataset
from bau.errors import DatasetError
from tests.fixtures.datasets import build_cuhk02, build_cuhksysu


def test_cuhk02_labels_are_offset_per_camera_pair(tmp_path):
    build_cuhk02(tmp_path)
    ds = create_dataset("cuhk02dg", tmp_path)
    got = {str(item.path).removeprefix(f"{tmp_path}/cuhk02/Dataset/"): (item.pid, item.camid) for item in ds.train}
    # P1: 001->0, 002->1; P2: 001->2 (another person than P1's 001); P3: 003->3, 004->4; P4: 010->5; P5: 020->6, 021->7
    assert got == {
        "P1/cam1/001_10.png": (0, 0),
        "P1/cam2/001_20.png": (0, 1),
        "P1/cam1/002_10.png": (1, 0),
        "P1/cam2/002_20.png": (1, 1),
        "P2/cam1/001_10.png": (2, 2),
        "P2/cam2/001_20.png": (2, 3),
        "P3/cam1/003_10.png": (3, 4),
        "P3/cam2/003_20.png": (3, 5),
        "P3/cam1/004_10.png": (4, 4),
        "P3/cam2/004_20.png": (4, 5),
        "P4/cam1/010_10.png": (5, 6),
        "P4/cam2/010_20.png": (5, 7),
        "P5/cam1/020_10.png": (6, 8),
        "P5/cam2/020_20.png": (6, 9),
        "P5/cam1/021_10.png": (7, 8),
        "P5/cam2/021_20.png": (7, 9),
    }
    assert (ds.num_train_pids, ds.num_train_cams, ds.query, ds.gallery) == (8, 10, [], [])


def test_cuhk02_needs_all_five_pairs(tmp_path):
    build_cuhk02(tmp_path)
    for path in (tmp_path / "cuhk02/Dataset/P5/cam2").iterdir():
        path.unlink()
    (tmp_path / "cuhk02/Dataset/P5/cam2").rmdir()
    with pytest.raises(DatasetError, match=r"folder 'cuhk02/Dataset/P5/cam2' is missing: expected .*P5/cam2"):
        create_dataset("cuhk02dg", tmp_path)


def test_cuhksysu_camera_not_decremented(tmp_path):
    build_cuhksysu(tmp_path)
    ds = create_dataset("cuhksysu", tmp_path)
    assert [(str(i.path).rsplit("/", 1)[1], i.pid, i.camid) for i in ds.train] == [
        ("00001_c0_000003.jpg", 0, 0),
        ("00003_c0_000000.jpg", 1, 0),
        ("00003_c1_000001.jpg", 1, 1),
        ("00010_c1_000002.jpg", 2, 1),
    ]
    assert (ds.query, ds.gallery, ds.num_train_cams) == ([], [], 2)
