"""Every synthetic dataset is read back by its real parser with the expected counts."""

from __future__ import annotations

import pytest

from bau.synth import expected_counts
from bau.synth.layouts import scale_size

EXPECTED = expected_counts("tiny")
SIZE = scale_size("tiny")


@pytest.fixture(scope="module")
def data(tiny_root, tmp_path_factory):
    from bau.datasets import create_dataset

    root, _ = tiny_root
    splits_dir = tmp_path_factory.mktemp("splits")
    return lambda name, split_id=0: create_dataset(name, root, split_id=split_id, split_seed=1, splits_dir=splits_dir)


def _ids(items):
    return {item.pid for item in items}


@pytest.mark.parametrize("name", ["market1501", "msmt17", "cuhk03"])
def test_market_style_counts(data, name):
    dataset, expected = data(name), EXPECTED[name]
    assert (len(dataset.train), dataset.num_train_pids) == (expected.train_images, expected.train_ids)
    assert (len(dataset.query), len(_ids(dataset.query))) == (expected.query_images, expected.query_ids)
    assert (len(dataset.gallery), len(_ids(dataset.gallery))) == (expected.gallery_images, expected.gallery_ids)
    items = [*dataset.train, *dataset.query, *dataset.gallery]
    assert len({item.camid for item in items}) == expected.cameras
    assert sorted(_ids(dataset.train)) == list(range(expected.train_ids))  # relabelled
    # Query and gallery share the test identities; every query has a match in another camera.
    assert _ids(dataset.query) <= _ids(dataset.gallery)
    for q in dataset.query:
        assert any(g.pid == q.pid and g.camid != q.camid for g in dataset.gallery), q.path


def test_market_junk_dropped_and_distractors_kept(data, tiny_root):
    root, _ = tiny_root
    dataset = data("market1501")
    assert sum(item.pid == 0 for item in dataset.gallery) == SIZE.market1501.distractors
    junk = list((root / "Market-1501-v15.09.15" / "bounding_box_test").glob("-1_*.jpg"))
    assert len(junk) == SIZE.market1501.junk
    assert all(item.pid >= 0 for item in [*dataset.query, *dataset.gallery])


def test_train_and_test_people_are_disjoint(tiny_root):
    root, _ = tiny_root
    for folder in ("Market-1501-v15.09.15", "MSMT17", "cuhk03-np/detected"):
        train = {p.name.split("_")[0] for p in (root / folder / "bounding_box_train").iterdir()}
        test = {p.name.split("_")[0] for p in (root / folder / "query").iterdir()}
        assert train and test and not train & test, folder


@pytest.mark.parametrize("name, base", [("market1501dg", "market1501"), ("msmt17dg", "msmt17"), ("cuhk03dg", "cuhk03")])
def test_dg_variants_train_on_all_folders(data, name, base):
    dataset, expected = data(name), EXPECTED[base]
    distractors = SIZE.market1501.distractors if base == "market1501" else 0
    assert len(dataset.train) == expected.train_images + expected.query_images + expected.gallery_images - distractors
    assert dataset.num_train_pids == expected.train_ids + expected.query_ids
    assert not dataset.query and not dataset.gallery


def test_cuhk02_and_cuhksysu(data):
    cuhk02 = data("cuhk02dg")
    assert (len(cuhk02.train), cuhk02.num_train_pids, cuhk02.num_train_cams) == (
        EXPECTED["cuhk02dg"].images,
        EXPECTED["cuhk02dg"].ids,
        EXPECTED["cuhk02dg"].cameras,
    )
    assert EXPECTED["cuhk02dg"].ids == sum(SIZE.cuhk02_pairs)  # numbering restarts per pair
    sysu = data("cuhksysu")
    assert (len(sysu.train), sysu.num_train_pids) == (EXPECTED["cuhksysu"].train_images, EXPECTED["cuhksysu"].train_ids)
    assert {item.camid for item in sysu.train} == {0, 1}


def test_grid_splits(data):
    ids, distractors = SIZE.grid
    for split_id in (0, 9):
        grid = data("grid", split_id)
        assert grid.num_train_pids == ids // 2 and len(grid.train) == 2 * (ids // 2)
        assert len(grid.query) == ids - ids // 2
        assert len(grid.gallery) == ids - ids // 2 + distractors
        assert sum(item.pid == 0 for item in grid.gallery) == distractors
        assert not _ids(grid.query) & {0}


def test_ilids_splits(data):
    ilids = data("ilids")
    test_ids = SIZE.ilids - SIZE.ilids // 2
    assert ilids.num_train_pids == SIZE.ilids // 2
    assert len(ilids.query) == len(ilids.gallery) == test_ids
    assert _ids(ilids.query) == _ids(ilids.gallery)


def test_prid_splits(data):
    shared, _, in_b = SIZE.prid
    prid = data("prid")
    assert prid.num_train_pids == shared // 2 and len(prid.train) == 2 * (shared // 2)
    assert len(prid.query) == shared - shared // 2 and {i.camid for i in prid.query} == {0}
    assert len(prid.gallery) == shared - shared // 2 + (in_b - shared) and {i.camid for i in prid.gallery} == {1}


def test_viper_splits(data):
    viper = data("viper")
    assert viper.num_train_pids == SIZE.viper // 2 and len(viper.train) == 2 * (SIZE.viper // 2)
    assert len(viper.query) == len(viper.gallery) == SIZE.viper - SIZE.viper // 2
    assert {i.camid for i in viper.query} == {0} and {i.camid for i in viper.gallery} == {1}
    assert _ids(viper.query) == _ids(viper.gallery)


def test_bau_verify_accepts_all_nine_with_the_synthetic_counts(tiny_root):
    from bau.datasets import DATASET_NAMES
    from bau.datasets.verify import verify

    root, _ = tiny_root
    report = verify(DATASET_NAMES, root, workers=2)
    assert report["synthetic"] and report["ok"] and report["expected_counts"] == "bau.synth.expected_counts('tiny')"
    for name, entry in report["datasets"].items():
        assert entry["status"] == "ok", (name, entry["errors"], entry["warnings"])
        assert entry["images_checked"] > 0 and not entry["unreadable"]
