"""Pinned split files: seeded, relative paths, outside the data, reused while valid."""

from __future__ import annotations

import shutil

import pytest

from bau.cli import main as bau_main
from bau.datasets import create_dataset
from bau.datasets.splits import ensure_splits, read_splits, split_file
from bau.errors import ConfigError
from bau.io import read_json, write_json
from tests.fixtures.datasets import build_grid, build_ilids, build_prid, build_viper, write_images


@pytest.fixture
def root(tmp_path):
    data = tmp_path / "data"
    for build in (build_grid, build_ilids, build_prid, build_viper):
        build(data)
    return data


@pytest.mark.parametrize("name", ["grid", "ilids", "prid", "viper"])
def test_split_file_is_relative_and_matches_in_memory_splits(root, tmp_path, name):
    splits_dir = tmp_path / "results/splits"
    path = ensure_splits(name, root, 3, splits_dir)
    assert path == splits_dir / f"{name}_seed3.json" == split_file(name, 3, splits_dir)
    content = read_json(path)
    assert (content["dataset"], content["seed"], content["num_splits"]) == (name, 3, 10)
    for entry in content["splits"]:
        for rel, _, _ in entry["train"] + entry["query"] + entry["gallery"]:
            assert not rel.startswith("/") and (root / rel).is_file()
    for split in (0, 9):
        pinned = create_dataset(name, root, split_id=split, split_seed=3, splits_dir=splits_dir)
        assert pinned == create_dataset(name, root, split_id=split, split_seed=3)
    assert not list(root.rglob("*.json"))  # nothing written into the dataset folders


@pytest.mark.parametrize("name", ["ilids", "prid", "viper"])
def test_splits_are_a_function_of_the_seed(root, tmp_path, name):
    first = read_json(ensure_splits(name, root, 1, tmp_path / "a"))["splits"]
    again = read_json(ensure_splits(name, root, 1, tmp_path / "b"))["splits"]
    other = read_json(ensure_splits(name, root, 2, tmp_path / "a"))["splits"]
    assert first == again and first != other
    assert len({str(entry["query"]) for entry in first}) > 1  # ten different splits


def test_grid_splits_do_not_depend_on_the_seed(root, tmp_path):
    assert read_splits(ensure_splits("grid", root, 1, tmp_path)) == read_splits(
        ensure_splits("grid", root, 2, tmp_path)
    )


def test_reused_while_valid_rewritten_when_seed_or_files_change(root, tmp_path):
    splits_dir = tmp_path / "splits"
    path = ensure_splits("viper", root, 1, splits_dir)
    inode = path.stat().st_ino
    assert ensure_splits("viper", root, 1, splits_dir) == path and path.stat().st_ino == inode  # reused
    original = read_json(path)

    tampered = dict(original, seed=5)  # a file whose recorded seed differs
    write_json(path, tampered)
    ensure_splits("viper", root, 1, splits_dir)
    assert read_json(path) == original

    write_images(root, ["VIPeR/cam_a/900_0.bmp", "VIPeR/cam_b/900_90.bmp"])  # the file list changed
    ensure_splits("viper", root, 1, splits_dir)
    changed = read_json(path)
    assert changed["files_sha256"] != original["files_sha256"]
    assert sum(len(entry) for entry in changed["splits"][0].values()) == 9 * 2


def test_split_file_survives_moving_the_data(root, tmp_path):
    splits_dir = tmp_path / "splits"
    path = ensure_splits("ilids", root, 1, splits_dir)
    inode = path.stat().st_ino
    moved = tmp_path / "elsewhere"
    shutil.move(root, moved)
    ds = create_dataset("ilids", moved, split_id=2, splits_dir=splits_dir)
    assert path.stat().st_ino == inode and all(item.path.startswith(str(moved)) for item in ds.train + ds.query)


def test_bau_splits_command(root, tmp_path, capsys):
    out = tmp_path / "results/splits"
    assert bau_main(["splits", "viper", "prid", "--data-root", str(root), "--seed", "4", "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["prid_seed4.json", "viper_seed4.json"]
    assert str(out / "viper_seed4.json") in capsys.readouterr().out
    with pytest.raises(SystemExit):  # datasets with one fixed split have no split file
        bau_main(["splits", "market1501", "--data-root", str(root)])


def test_split_files_never_go_into_the_dataset_folder(root):
    with pytest.raises(ConfigError, match=r"data.splits_dir .*VIPeR/splits is inside the dataset folder"):
        ensure_splits("viper", root, 1, root / "VIPeR/splits")
