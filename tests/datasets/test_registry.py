"""The dataset registry: names, split counts, errors, no torch import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bau.data import DATASET_NAMES, create_dataset, num_splits
from bau.errors import ConfigError
from tests.data.trees import build_all


def test_reference_names():
    assert DATASET_NAMES == ("market1501", "market1501dg", "msmt17", "msmt17dg", "cuhk03", "cuhk03dg",
                             "cuhk02dg", "cuhksysu", "grid", "ilids", "prid", "viper")
    assert [name for name in DATASET_NAMES if num_splits(name) == 10] == ["grid", "ilids", "prid", "viper"]
    assert all(num_splits(name) == 1 for name in DATASET_NAMES[:8])


def test_every_dataset_parses_from_its_tree(tmp_path):
    build_all(tmp_path)
    sizes = {name: (d.num_train_pids, len(d.query), len(d.gallery)) for name in DATASET_NAMES
             for d in [create_dataset(name, tmp_path)]}
    assert sizes == {
        "market1501": (3, 2, 5), "market1501dg": (5, 0, 0), "msmt17": (2, 2, 3), "msmt17dg": (4, 0, 0),
        "cuhk03": (2, 2, 3), "cuhk03dg": (4, 0, 0), "cuhk02dg": (8, 0, 0), "cuhksysu": (3, 0, 0),
        "grid": (3, 3, 5), "ilids": (3, 3, 3), "prid": (100, 100, 106), "viper": (4, 4, 4),
    }


def test_unknown_name_and_split_of_a_fixed_dataset(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset 'market'; choose one of market1501, market1501dg"):
        create_dataset("market", tmp_path)
    with pytest.raises(ConfigError, match="market1501 has one fixed split"):
        create_dataset("market1501", tmp_path, split_id=1)


def test_importing_bau_data_does_not_import_torch():
    code = "import sys, bau.data, bau.data.verify, bau.data.splits; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
