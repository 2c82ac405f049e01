"""Multi-source merging (docs/reference.md §1.15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bau.datasets import ImageItem, ReIDDataset, create_dataset
from bau.datasets.multisource import TrainItem, merge_sources
from bau.errors import DatasetError
from tests.fixtures.datasets import build_cuhk02, build_market


def test_offsets_domains_and_sorted_order():
    first = ReIDDataset(
        "a", Path("."), [ImageItem("a/2.jpg", 1, 2), ImageItem("a/1.jpg", 0, 0), ImageItem("a/3.jpg", 1, 0)]
    )
    second = ReIDDataset(
        "b", Path("."), [ImageItem("b/9.jpg", 2, 1), ImageItem("b/1.jpg", 0, 0), ImageItem("b/5.jpg", 1, 0)]
    )
    merged = merge_sources([first, second])
    assert merged.items == [
        TrainItem("a/1.jpg", 0, 0, 0),
        TrainItem("a/2.jpg", 1, 2, 0),
        TrainItem("a/3.jpg", 1, 0, 0),
        # pid offset = 2 classes of "a", camera offset = its 2 distinct cameras
        TrainItem("b/1.jpg", 2, 2, 1),
        TrainItem("b/5.jpg", 3, 2, 1),
        TrainItem("b/9.jpg", 4, 3, 1),
    ]
    assert (merged.num_classes, merged.class_domains, merged.domain_names) == (5, [0, 0, 1, 1, 1], ["a", "b"])


def test_merging_parsed_datasets(tmp_path):
    build_market(tmp_path)
    build_cuhk02(tmp_path)
    merged = merge_sources([create_dataset("market1501dg", tmp_path), create_dataset("cuhk02dg", tmp_path)])
    assert merged.num_classes == 5 + 8 and merged.class_domains == [0] * 5 + [1] * 8
    assert sorted({item.pid for item in merged.items}) == list(range(13))
    assert {item.domain for item in merged.items if "cuhk02" in item.path} == {1}


def test_unrelabelled_or_empty_sources_are_rejected():
    raw = ReIDDataset("raw", Path("."), [ImageItem("x.jpg", 7, 0)])
    with pytest.raises(DatasetError, match="raw: training labels must be 0..0"):
        merge_sources([raw])
    with pytest.raises(DatasetError, match="no source dataset"):
        merge_sources([])
