"""Merging the training sets of several source domains into one (docs/reference.md §1.15).

Sources keep their order: domain d's classes follow those of domains 0..d-1 (contiguous pid
offsets), cameras are offset the same way, and each class carries its domain id (the labels
of the memory bank's prototypes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bau.datasets.base import ReIDDataset
from bau.errors import DatasetError


class TrainItem(NamedTuple):
    path: str
    pid: int
    camid: int
    domain: int


@dataclass
class MultiSourceTrain:
    items: list[TrainItem]
    num_classes: int
    class_domains: list[int]  # domain id of each class 0..num_classes-1
    domain_names: list[str]


def merge_sources(datasets: list[ReIDDataset]) -> MultiSourceTrain:
    if not datasets:
        raise DatasetError("no source dataset to train on; list at least one in data.sources")
    items: list[TrainItem] = []
    class_domains: list[int] = []
    pid_offset = cam_offset = 0
    for domain, dataset in enumerate(datasets):
        num_pids = dataset.num_train_pids
        if num_pids == 0:
            raise DatasetError(f"source dataset {dataset.name} (under {dataset.root}) has no training images")
        if {item.pid for item in dataset.train} != set(range(num_pids)):
            raise DatasetError(
                f"source dataset {dataset.name}: training labels must be 0..{num_pids - 1} "
                f"(relabelled); use a parser from bau.datasets.create_dataset"
            )
        items += [
            TrainItem(item.path, item.pid + pid_offset, item.camid + cam_offset, domain)
            for item in sorted(dataset.train, key=lambda item: item.path)
        ]
        class_domains += [domain] * num_pids
        pid_offset += num_pids
        cam_offset += dataset.num_train_cams
    return MultiSourceTrain(items, pid_offset, class_domains, [dataset.name for dataset in datasets])
