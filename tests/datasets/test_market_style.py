"""Market-1501, MSMT17 and CUHK03-NP parsers and their DG variants (docs/reference.md §1.2-1.7)."""

from __future__ import annotations

import pytest

from bau.datasets import ImageItem, create_dataset
from bau.errors import DatasetError
from tests.fixtures.datasets import MARKET, build_cuhk03, build_market, build_msmt17, write_images


def rows(root, items: list[ImageItem]) -> list[tuple[str, int, int]]:
    """(basename-relative path, pid, camid) for readable comparisons."""
    return [(str(item.path).removeprefix(f"{root}/"), item.pid, item.camid) for item in items]


def test_market1501_drops_junk_keeps_distractors_and_relabels_sorted(tmp_path):
    build_market(tmp_path)
    ds = create_dataset("market1501", tmp_path)
    m = MARKET
    assert rows(tmp_path, ds.train) == [
        (f"{m}/bounding_box_train/0002_c1s1_000451_03.jpg", 0, 0),
        (f"{m}/bounding_box_train/0002_c2s1_000551_01.jpg", 0, 1),
        (f"{m}/bounding_box_train/0005_c6s2_000201_02.jpg", 1, 5),
        (f"{m}/bounding_box_train/0007_c3s1_000101_01.jpg", 2, 2),
    ]
    assert rows(tmp_path, ds.query) == [
        (f"{m}/query/0010_c1s1_001051_00.jpg", 10, 0),
        (f"{m}/query/0011_c2s1_001151_00.jpg", 11, 1),
    ]
    assert rows(tmp_path, ds.gallery) == [
        (f"{m}/bounding_box_test/0000_c1s1_000001_01.jpg", 0, 0),
        (f"{m}/bounding_box_test/0000_c5s1_000002_01.jpg", 0, 4),
        (f"{m}/bounding_box_test/0010_c2s1_001052_01.jpg", 10, 1),
        (f"{m}/bounding_box_test/0011_c3s1_001152_01.jpg", 11, 2),
        (f"{m}/bounding_box_test/0011_c4s1_001153_01.jpg", 11, 3),
    ]
    assert (ds.num_train_pids, ds.num_train_cams) == (3, 4)
    assert all(isinstance(item.path, str) and item.path.startswith(str(tmp_path)) for item in ds.gallery)


def test_market1501dg_unions_folders_with_train_and_test_namespaces(tmp_path):
    build_market(tmp_path)
    # A test person whose number coincides with a training person stays a separate class.
    write_images(
        tmp_path, [f"{MARKET}/query/0002_c4s1_000900_00.jpg", f"{MARKET}/bounding_box_test/0002_c5s1_000901_00.jpg"]
    )
    ds = create_dataset("market1501dg", tmp_path)
    assert ds.query == [] and ds.gallery == []
    m = MARKET
    # keys sorted: (test,2)=0 (test,10)=1 (test,11)=2 (train,2)=3 (train,5)=4 (train,7)=5; pid 0 and -1 dropped
    assert rows(tmp_path, ds.train) == [
        (f"{m}/bounding_box_train/0002_c1s1_000451_03.jpg", 3, 0),
        (f"{m}/bounding_box_train/0002_c2s1_000551_01.jpg", 3, 1),
        (f"{m}/bounding_box_train/0005_c6s2_000201_02.jpg", 4, 5),
        (f"{m}/bounding_box_train/0007_c3s1_000101_01.jpg", 5, 2),
        (f"{m}/query/0002_c4s1_000900_00.jpg", 0, 3),
        (f"{m}/query/0010_c1s1_001051_00.jpg", 1, 0),
        (f"{m}/query/0011_c2s1_001151_00.jpg", 2, 1),
        (f"{m}/bounding_box_test/0002_c5s1_000901_00.jpg", 0, 4),
        (f"{m}/bounding_box_test/0010_c2s1_001052_01.jpg", 1, 1),
        (f"{m}/bounding_box_test/0011_c3s1_001152_01.jpg", 2, 2),
        (f"{m}/bounding_box_test/0011_c4s1_001153_01.jpg", 2, 3),
    ]
    assert ds.num_train_pids == 6


def test_msmt17_no_filtering_and_dg(tmp_path):
    build_msmt17(tmp_path)
    ds = create_dataset("msmt17", tmp_path)
    # pid 0 is a normal MSMT17 identity (no junk filtering); "0000_c15" sorts before "0000_c1_"
    assert rows(tmp_path, ds.train) == [
        ("MSMT17/bounding_box_train/0000_c15_0001.jpg", 0, 14),
        ("MSMT17/bounding_box_train/0000_c1_0000.jpg", 0, 0),
        ("MSMT17/bounding_box_train/0003_c7_0002.jpg", 1, 6),
    ]
    assert [(i.pid, i.camid) for i in ds.query] == [(1, 1), (4, 2)]
    assert [(i.pid, i.camid) for i in ds.gallery] == [(1, 4), (4, 9), (4, 8)]
    dg = create_dataset("msmt17dg", tmp_path)
    # (test,1)=0 (test,4)=1 (train,0)=2 (train,3)=3
    assert [i.pid for i in dg.train] == [2, 2, 3, 0, 1, 0, 1, 1]
    assert dg.num_train_cams == 8


def test_cuhk03_detected_and_dg_camera_check(tmp_path):
    build_cuhk03(tmp_path)
    ds = create_dataset("cuhk03", tmp_path)
    base = "cuhk03-np/detected"
    assert rows(tmp_path, ds.train) == [
        (f"{base}/bounding_box_train/0001_c1_1.png", 0, 0),
        (f"{base}/bounding_box_train/0001_c2_2.png", 0, 1),
        (f"{base}/bounding_box_train/0003_c1_1.png", 1, 0),
    ]
    assert [(i.pid, i.camid) for i in ds.query] == [(2, 0), (4, 1)]
    assert [(i.pid, i.camid) for i in ds.gallery] == [(2, 1), (4, 0), (4, 0)]
    assert create_dataset("cuhk03dg", tmp_path).num_train_pids == 4
    write_images(tmp_path, [f"{base}/query/0009_c3_1.png"])  # cameras 1-8 for cuhk03, 1-2 for the DG parser
    assert create_dataset("cuhk03", tmp_path).query[-1].camid == 2
    with pytest.raises(DatasetError, match=r"camera 3 of .*0009_c3_1.png is outside 1..2"):
        create_dataset("cuhk03dg", tmp_path)


def test_missing_folder_error_says_where_and_what_to_do(tmp_path):
    build_market(tmp_path)
    (tmp_path / MARKET / "query").rename(tmp_path / MARKET / "queries")
    with pytest.raises(DatasetError) as err:
        create_dataset("market1501", tmp_path)
    message = str(err.value)
    assert f"folder '{MARKET}/query' is missing: expected {tmp_path / MARKET / 'query'}" in message
    assert "unzip it into the data root" in message
    with pytest.raises(
        DatasetError,
        match=r"folder 'MSMT17' is missing: expected .*MSMT17 holding "
        r"MSMT17/bounding_box_train/, MSMT17/query/, MSMT17/bounding_box_test/",
    ):
        create_dataset("msmt17", tmp_path)


def test_msmt17_official_layout_is_recognised(tmp_path):
    (tmp_path / "MSMT17_V1").mkdir()
    with pytest.raises(
        DatasetError, match=r"found .*MSMT17_V1 but expected .*MSMT17: MSMT17_V1 is the official layout"
    ):
        create_dataset("msmt17", tmp_path)


def test_bad_file_name_and_out_of_range_camera_are_named(tmp_path):
    build_market(tmp_path)
    write_images(tmp_path, [f"{MARKET}/query/holiday.jpg"])
    with pytest.raises(DatasetError, match=r"cannot read identity and camera from the file name .*holiday.jpg"):
        create_dataset("market1501", tmp_path)
    (tmp_path / MARKET / "query/holiday.jpg").unlink()
    write_images(tmp_path, [f"{MARKET}/query/0012_c7s1_000001_00.jpg"])
    with pytest.raises(DatasetError, match=r"camera 7 of .*0012_c7s1_000001_00.jpg is outside 1..6"):
        create_dataset("market1501", tmp_path)


def test_empty_folder_is_an_error(tmp_path):
    build_cuhk03(tmp_path)
    for path in (tmp_path / "cuhk03-np/detected/query").iterdir():
        path.unlink()
    with pytest.raises(DatasetError, match=r"cuhk03: folder .*detected/query holds no \*.png images"):
        create_dataset("cuhk03", tmp_path)
