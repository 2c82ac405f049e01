"""GRID, iLIDS, PRID and VIPeR: the ten splits of each (docs/reference.md §1.10-1.13, section 8)."""

from __future__ import annotations

import pytest

from bau.datasets import create_dataset, create_datasets, directions, num_splits
from bau.errors import ConfigError, DatasetError
from bau.io import write_json
from tests.fixtures.datasets import (
    GRID_TRAIN,
    ILIDS_IMAGES,
    build_grid,
    build_ilids,
    build_prid,
    build_viper,
    write_grid_mat,
)


def name(item) -> str:
    return str(item.path).rsplit("/", 1)[1]


def test_grid_split_from_mat(tmp_path):
    build_grid(tmp_path)
    ds = create_dataset("grid", tmp_path, split_id=0)  # training persons [2, 5, 1], labels in that order
    train = sorted((name(i)[:4], i.pid, i.camid) for i in ds.train)
    assert train == [("0001", 2, 0), ("0001", 2, 1), ("0002", 0, 1), ("0002", 0, 2), ("0005", 1, 4), ("0005", 1, 5)]
    assert [(i.pid, i.camid) for i in ds.query] == [(3, 2), (4, 3), (6, 5)]
    assert all("/underground_reid/probe/" in i.path for i in ds.query)
    # gallery: the other persons' gallery images plus both index-0 distractors
    assert [(i.pid, i.camid) for i in ds.gallery] == [(0, 2), (0, 7), (3, 3), (4, 4), (6, 6)]
    assert all("/underground_reid/gallery/" in i.path for i in ds.gallery)
    last = create_dataset("grid", tmp_path, split_id=9)
    assert sorted({int(name(i)[:4]) for i in last.train}) == sorted(GRID_TRAIN[9])
    assert num_splits("grid") == 10


def test_grid_bad_mat_is_named(tmp_path):
    build_grid(tmp_path)
    write_grid_mat(tmp_path / "underground_reid/features_and_partitions.mat", GRID_TRAIN[:3])
    with pytest.raises(
        DatasetError, match=r"grid: cannot read the ten training partitions from .*features_and_partitions.mat"
    ):
        create_dataset("grid", tmp_path)


def test_grid_wrong_folder_name_from_the_original_readme(tmp_path):
    build_grid(tmp_path)
    (tmp_path / "underground_reid").rename(tmp_path / "underground_grid")
    with pytest.raises(DatasetError) as err:
        create_dataset("grid", tmp_path)
    assert f"found {tmp_path / 'underground_grid'} but expected {tmp_path / 'underground_reid'}" in str(err.value)
    assert f"mv {tmp_path / 'underground_grid'} {tmp_path / 'underground_reid'}" in str(err.value)


def test_ilids_splits(tmp_path):
    build_ilids(tmp_path)
    test_persons = []
    for split in range(10):
        ds = create_dataset("ilids", tmp_path, split_id=split, split_seed=1)
        train_persons = {int(name(i)[:4]) for i in ds.train}
        query_persons = [int(name(i)[:4]) for i in ds.query]
        assert len(train_persons) == 3 and len(query_persons) == 3  # int(6 * 0.5) persons for training
        assert train_persons.isdisjoint(query_persons) and train_persons | set(query_persons) == set(ILIDS_IMAGES)
        assert len(ds.train) == sum(ILIDS_IMAGES[p] for p in train_persons)  # all images of training persons
        # labels in sorted order of the training persons
        assert {int(name(i)[:4]): i.pid for i in ds.train} == {p: k for k, p in enumerate(sorted(train_persons))}
        # one query and one other gallery image per test person; camid = image number - 1
        assert [i.pid for i in ds.query] == [i.pid for i in ds.gallery] == query_persons
        for q, g in zip(ds.query, ds.gallery):
            assert q.path != g.path and q.camid != g.camid and q.camid == int(name(q)[4:7]) - 1
        test_persons.append(tuple(query_persons))
    assert len(set(test_persons)) > 1  # the ten splits are not all the same


def test_ilids_person_with_one_image_is_an_error(tmp_path):
    build_ilids(tmp_path)
    (tmp_path / "QMUL-iLIDS/i-LIDS_Pedestrian/Persons/0007002.jpg").unlink()
    with pytest.raises(DatasetError, match=r"ilids: persons \[7\] have a single image"):
        create_dataset("ilids", tmp_path)


def test_prid_splits_with_distractors(tmp_path):
    build_prid(tmp_path)  # persons 1..200 shared, cam_a 1..203, cam_b 1..206
    ds = create_dataset("prid", tmp_path, split_id=4, split_seed=7)
    train_persons = sorted({int(name(i)[7:11]) for i in ds.train})
    assert len(train_persons) == 100 and len(ds.train) == 200 and set(train_persons) <= set(range(1, 201))
    assert sorted({i.pid for i in ds.train}) == list(range(100))
    test_persons = sorted(set(range(1, 201)) - set(train_persons))
    assert [(i.pid, i.camid) for i in ds.query] == [(p, 0) for p in test_persons]
    assert all("/cam_a/" in i.path for i in ds.query)
    assert [(i.pid, i.camid) for i in ds.gallery] == [(p, 1) for p in [*test_persons, 201, 202, 203, 204, 205, 206]]
    assert all("/cam_b/" in i.path for i in ds.gallery)


def test_prid_shared_persons_from_synthetic_marker(tmp_path):
    build_prid(tmp_path, shared=4, cam_a=6, cam_b=9)
    write_json(tmp_path / "bau_synthetic.json", {"scale": "tiny", "seed": 1, "prid_shared_ids": 4})
    ds = create_dataset("prid", tmp_path)
    assert len(ds.train) == 4 and len(ds.query) == 2 and len(ds.gallery) == 2 + 5
    (tmp_path / "bau_synthetic.json").unlink()
    with pytest.raises(DatasetError, match=r"prid: persons 1..200 must all be in .*cam_a.*e.g. person_0007.png"):
        create_dataset("prid", tmp_path)


def test_viper_directions(tmp_path):
    build_viper(tmp_path)
    ds = create_dataset("viper", tmp_path, split_id=3)
    assert len(ds.train) == 8 and ds.num_train_pids == 4 and ds.num_train_cams == 2
    assert [i.camid for i in ds.query] == [0] * 4 and all("/cam_a/" in i.path for i in ds.query)
    assert [i.camid for i in ds.gallery] == [1] * 4 and all("/cam_b/" in i.path for i in ds.gallery)
    assert [i.pid for i in ds.query] == [i.pid for i in ds.gallery]
    # the i-th sorted file of each camera is person i
    assert [int(name(i)[:3]) for i in ds.query] == [i.pid for i in ds.query]
    assert {int(name(i)[:3]) for i in ds.train}.isdisjoint(i.pid for i in ds.query)
    back = create_dataset("viper", tmp_path, split_id=3, direction="b_to_a")
    assert (back.query, back.gallery, back.train) == (ds.gallery, ds.query, ds.train)
    assert directions("viper", both=True) == ("a_to_b", "b_to_a")
    assert directions("viper") == directions("grid", both=True) == ("a_to_b",)
    with pytest.raises(ConfigError, match="direction 'b_to_a' is not available"):
        create_dataset("prid", tmp_path, direction="b_to_a")
    # Every split and direction at once (what evaluation reads) = one create_dataset each.
    views = create_datasets("viper", tmp_path, [3, 7], query_directions=directions("viper", both=True))
    assert sorted(views) == [(3, "a_to_b"), (3, "b_to_a"), (7, "a_to_b"), (7, "b_to_a")]
    for (split, direction), view in views.items():
        assert view == create_dataset("viper", tmp_path, split_id=split, direction=direction)
    with pytest.raises(ConfigError, match="split_id 10 is out of range 0..9"):
        create_datasets("viper", tmp_path, [0, 10])


def test_viper_unpaired_folders(tmp_path):
    build_viper(tmp_path)
    sorted((tmp_path / "VIPeR/cam_b").glob("007_*.bmp"))[0].unlink()
    with pytest.raises(DatasetError, match="cam_a holds 8 images and cam_b 7"):
        create_dataset("viper", tmp_path)


def test_split_id_range(tmp_path):
    build_viper(tmp_path)
    with pytest.raises(ConfigError, match=r"split_id 10 is out of range 0..9"):
        create_dataset("viper", tmp_path, split_id=10)
