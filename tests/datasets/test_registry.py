"""The dataset registry: names, split counts, errors, no torch import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bau.datasets import (
    DATASET_NAMES,
    DatasetParser,
    ReIDDataset,
    _registry,
    create_dataset,
    get_parser,
    list_datasets,
    num_splits,
    register_dataset,
)
from bau.errors import ConfigError
from tests.fixtures.datasets import build_all


def test_reference_names():
    assert DATASET_NAMES == (
        "market1501",
        "market1501dg",
        "msmt17",
        "msmt17dg",
        "cuhk03",
        "cuhk03dg",
        "cuhk02dg",
        "cuhksysu",
        "grid",
        "ilids",
        "prid",
        "viper",
    )
    assert [name for name in DATASET_NAMES if num_splits(name) == 10] == ["grid", "ilids", "prid", "viper"]
    assert all(num_splits(name) == 1 for name in DATASET_NAMES[:8])


def test_every_dataset_parses_from_its_tree(tmp_path):
    build_all(tmp_path)
    sizes = {
        name: (d.num_train_pids, len(d.query), len(d.gallery))
        for name in DATASET_NAMES
        for d in [create_dataset(name, tmp_path)]
    }
    assert sizes == {
        "market1501": (3, 2, 5),
        "market1501dg": (5, 0, 0),
        "msmt17": (2, 2, 3),
        "msmt17dg": (4, 0, 0),
        "cuhk03": (2, 2, 3),
        "cuhk03dg": (4, 0, 0),
        "cuhk02dg": (8, 0, 0),
        "cuhksysu": (3, 0, 0),
        "grid": (3, 3, 5),
        "ilids": (3, 3, 3),
        "prid": (100, 100, 106),
        "viper": (4, 4, 4),
    }


def test_unknown_name_and_split_of_a_fixed_dataset(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset 'market'; choose one of market1501, market1501dg"):
        create_dataset("market", tmp_path)
    with pytest.raises(ConfigError, match="market1501 has one fixed split"):
        create_dataset("market1501", tmp_path, split_id=1)


def test_importing_bau_datasets_does_not_import_torch():
    code = "import sys, bau.datasets, bau.datasets.verify, bau.datasets.splits; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_parser_contract_rejects_ambiguous_parsers():
    market = get_parser("market1501")
    viper = get_parser("viper")
    with pytest.raises(TypeError, match="give exactly one of load and make_splits"):
        DatasetParser(
            "both",
            market.layout,
            market.count,
            load=market.load,
            make_splits=viper.make_splits,
            fingerprint=viper.fingerprint,
        )
    with pytest.raises(TypeError, match="give exactly one of load and make_splits"):
        DatasetParser("neither", market.layout, market.count)
    with pytest.raises(TypeError, match="make_splits needs a fingerprint"):
        DatasetParser("no_fingerprint", viper.layout, viper.count, make_splits=viper.make_splits, num_splits=10)
    with pytest.raises(TypeError, match="has one split, not 3"):
        DatasetParser("fixed", market.layout, market.count, load=market.load, num_splits=3)


def test_register_dataset_makes_a_name_usable(tmp_path, monkeypatch):
    monkeypatch.setattr(_registry, "_PARSERS", dict(_registry._PARSERS))  # leave the real registry as it was
    build_all(tmp_path)
    market = get_parser("market1501")
    register_dataset(
        DatasetParser(
            "market_train_only",
            market.layout,
            market.count,
            load=lambda root: ReIDDataset("market_train_only", root, market.load(root).train),
        )
    )
    assert "market_train_only" in list_datasets() and "market_train_only" not in DATASET_NAMES
    dataset = create_dataset("market_train_only", tmp_path)
    assert dataset.num_train_pids == 3 and dataset.query == [] and num_splits("market_train_only") == 1
    with pytest.raises(ConfigError, match="dataset 'market1501' is already registered"):
        register_dataset(market)


def test_dg_variants_share_their_folder():
    assert get_parser("market1501dg").layout is get_parser("market1501").layout
    assert [get_parser(name).folder_key for name in ("msmt17dg", "cuhk03dg", "cuhk02dg", "grid")] == [
        "msmt17",
        "cuhk03",
        "cuhk02dg",
        "grid",
    ]
