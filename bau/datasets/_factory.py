"""``create_dataset`` / ``create_datasets``: a :class:`ReIDDataset` from a registered name.

Fixed-split datasets are read by their parser's ``load``; for grid, ilids, prid and viper one
split entry (from a pinned split file, or computed in memory) becomes the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bau.datasets._registry import directions, get_parser, num_splits
from bau.datasets.base import ImageItem, ReIDDataset, SplitEntry
from bau.datasets.splits import ensure_splits, read_splits
from bau.errors import ConfigError


def create_dataset(
    name: str,
    root: str | Path,
    *,
    split_id: int = 0,
    split_seed: int = 1,
    splits_dir: str | Path | None = None,
    direction: str = "a_to_b",
) -> ReIDDataset:
    """The dataset ``name`` read from the data root ``root``.

    For grid/ilids/prid/viper, ``split_id`` (0..9) selects one of the ten splits made from
    ``split_seed``: pinned in a split file under ``splits_dir`` when given (made on first use,
    reused while the seed and the file list are unchanged), computed in memory otherwise.
    ``direction="b_to_a"`` (VIPeR only) swaps query and gallery: query = cam_b, gallery = cam_a.
    """
    views = create_datasets(
        name, root, [split_id], split_seed=split_seed, splits_dir=splits_dir, query_directions=(direction,)
    )
    return views[split_id, direction]


def create_datasets(
    name: str,
    root: str | Path,
    split_ids: Sequence[int],
    *,
    split_seed: int = 1,
    splits_dir: str | Path | None = None,
    query_directions: Sequence[str] = ("a_to_b",),
) -> dict[tuple[int, str], ReIDDataset]:
    """:func:`create_dataset` of every ``(split, direction)``, keyed so; the dataset (or its
    split file) is read once for all of them."""
    parser = get_parser(name)
    root = Path(root)
    available = directions(name, both=True)
    for direction in query_directions:
        if direction not in available:
            raise ConfigError(f"{name}: direction {direction!r} is not available; choose one of {', '.join(available)}")
    if not parser.has_splits:
        for split_id in split_ids:
            if split_id != 0:
                raise ConfigError(f"{name} has one fixed split; split_id must be 0, not {split_id}")
        dataset = parser.load(root)
        return {(0, direction): dataset for direction in query_directions}
    for split_id in split_ids:
        if not 0 <= split_id < num_splits(name):
            raise ConfigError(f"{name}: split_id {split_id} is out of range 0..{num_splits(name) - 1}")
    entries = split_entries(name, root, split_seed, splits_dir)
    views = {}
    for split_id in split_ids:
        for direction in query_directions:
            dataset = from_entry(name, root, entries[split_id])
            if direction == "b_to_a":
                dataset.query, dataset.gallery = dataset.gallery, dataset.query
            views[split_id, direction] = dataset
    return views


def split_entries(name: str, root: Path, split_seed: int, splits_dir: str | Path | None) -> list[SplitEntry]:
    """The splits of a small dataset: from its split file under ``splits_dir`` (made on first
    use), or computed in memory when ``splits_dir`` is None."""
    if splits_dir is None:
        return get_parser(name).make_splits(root, split_seed)
    return read_splits(ensure_splits(name, root, split_seed, splits_dir))


def from_entry(name: str, root: Path, entry: SplitEntry) -> ReIDDataset:
    def items(key: str) -> list[ImageItem]:
        return [ImageItem(str(root / rel), int(pid), int(camid)) for rel, pid, camid in entry[key]]

    return ReIDDataset(name, root, items("train"), items("query"), items("gallery"))
