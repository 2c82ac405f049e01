"""Pinned splits of the small test datasets (grid, ilids, prid, viper) and `bau splits`.

Each dataset's ten splits are made from a seed and written once to
``<splits_dir>/`` (bau.layout.split_file; under the results folder, never in the dataset
folder), with image paths relative to the data root so the data may move. The file is reused
while its recorded seed and the dataset's file list are unchanged and rewritten otherwise.
GRID's splits come from its .mat file (the seed is recorded but does not change them).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bau import layout
from bau.datasets._registry import get_parser, list_datasets
from bau.datasets.base import SplitEntry
from bau.errors import ConfigError, DatasetError
from bau.io import read_json, write_json

FORMAT = "bau-splits-v1"
log = logging.getLogger(__name__)


def split_datasets() -> tuple[str, ...]:
    """The registered datasets whose test sets come in seeded splits."""
    return tuple(name for name in list_datasets() if get_parser(name).has_splits)


def split_file(name: str, seed: int, splits_dir: str | Path) -> Path:
    return layout.split_file(splits_dir, name, seed)


def ensure_splits(name: str, root: str | Path, seed: int, splits_dir: str | Path) -> Path:
    """The split file of ``name`` for ``seed``: reused if still valid, (re)written otherwise."""
    parser = get_parser(name)
    if not parser.has_splits:
        raise ConfigError(f"{name} has one fixed split; split files exist only for {', '.join(split_datasets())}")
    root = Path(root)
    dataset_folder = (root / parser.layout.folder).resolve()
    if Path(splits_dir).resolve().is_relative_to(dataset_folder):
        raise ConfigError(
            f"data.splits_dir {splits_dir} is inside the dataset folder {dataset_folder}; "
            f"split files belong under the results folder (e.g. {layout.Layout().splits_dir()})"
        )
    path = split_file(name, seed, splits_dir)
    fingerprint = parser.fingerprint(root)
    if path.is_file():
        stale = _stale_reason(read_json(path), name, seed, fingerprint)
        if stale is None:
            return path
        log.info("rewriting %s: %s", path, stale)
    splits = parser.make_splits(root, seed)
    write_json(
        path,
        {
            "format": FORMAT,
            "dataset": name,
            "seed": int(seed),
            "files_sha256": fingerprint,
            "num_splits": len(splits),
            "splits": splits,
        },
    )
    log.info("wrote %d %s splits (seed %d) to %s", len(splits), name, seed, path)
    return path


def _stale_reason(content: dict, name: str, seed: int, fingerprint: str) -> str | None:
    if content.get("format") != FORMAT or content.get("dataset") != name:
        return "not a split file of this dataset"
    if content.get("seed") != seed:
        return f"recorded seed {content.get('seed')} differs from {seed}"
    if content.get("files_sha256") != fingerprint:
        return "the dataset's files changed since the splits were made"
    return None


def read_splits(path: str | Path) -> list[SplitEntry]:
    content = read_json(path)
    if content.get("format") != FORMAT or not isinstance(content.get("splits"), list):
        raise DatasetError(f"{path} is not a bau split file ({FORMAT}); delete it and run `bau splits` again")
    return content["splits"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = split_datasets()
    parser.add_argument(
        "datasets", nargs="+", metavar="DATASET", choices=names, help=f"datasets with splits: {', '.join(names)}"
    )
    parser.add_argument("--data-root", required=True, type=Path, help="folder holding the dataset folders")
    parser.add_argument("--seed", type=int, default=1, help="split seed (default 1)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(layout.Layout().splits_dir()),
        help=f"folder of the split files (default {layout.Layout().splits_dir()})",
    )


def main(args: argparse.Namespace) -> int:
    for name in args.datasets:
        path = ensure_splits(name, args.data_root, args.seed, args.out_dir)
        print(path)
    return 0
