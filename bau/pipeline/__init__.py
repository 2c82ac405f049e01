"""Datasets: the twelve reference parsers, multi-source merging and the pinned splits.

``create_dataset(name, root, split_id=..., split_seed=..., splits_dir=...)`` reads one dataset
from the data root (layouts in REFERENCE section 1). This package does not import torch; the
training pipeline (transforms, sampler, loaders) lives in its own modules.
"""

from bau.data.base import ImageItem, ReIDDataset
from bau.data.registry import DATASET_NAMES, create_dataset, create_datasets, directions, num_splits

__all__ = ["DATASET_NAMES", "ImageItem", "ReIDDataset", "create_dataset", "create_datasets", "directions", "num_splits"]
