"""Datasets: the twelve reference parsers, multi-source merging and the pinned splits.

``create_dataset(name, root, split_id=..., split_seed=..., splits_dir=...)`` reads one dataset
from the data root (layouts in docs/reference.md §1); every name maps to a
:class:`DatasetParser` (``get_parser``; ``register_dataset`` adds one). This package does not
import torch: the training pipeline (transforms, sampler, loaders) is bau.pipeline.
"""

from bau.datasets._factory import create_dataset, create_datasets
from bau.datasets._registry import DATASET_NAMES, directions, get_parser, list_datasets, num_splits, register_dataset
from bau.datasets.base import DatasetParser, ImageItem, ReIDDataset

__all__ = [
    "DATASET_NAMES",
    "DatasetParser",
    "ImageItem",
    "ReIDDataset",
    "create_dataset",
    "create_datasets",
    "directions",
    "get_parser",
    "list_datasets",
    "num_splits",
    "register_dataset",
]
