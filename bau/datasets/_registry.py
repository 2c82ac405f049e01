"""The twelve reference dataset names and how to build each one.

Datasets with a fixed train/query/gallery (or training-only) split have a ``load`` function.
The small test datasets (grid, ilids, prid, viper) have ten splits each, made by
``make_splits(root, seed)`` and pinned in a split file (bau.data.splits); ``create_dataset``
turns one split entry into a :class:`ReIDDataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from bau.data import cuhk02, cuhk03, cuhksysu, grid, ilids, market1501, msmt17, prid, viper
from bau.data.base import ImageItem, Layout, ReIDDataset, SplitEntry
from bau.data.stats import DatasetStats
from bau.errors import ConfigError

DIRECTIONS = ("a_to_b", "b_to_a")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    module: ModuleType  # the parser module of the dataset folder
    load: Callable[[Path], ReIDDataset] | None  # None for the split datasets

    @property
    def folder_name(self) -> str:
        """Folder-level name (keys of bau.data.stats and bau.synth.expected_counts)."""
        return self.layout.dataset

    @property
    def layout(self) -> Layout:
        return self.module.LAYOUT

    @property
    def has_splits(self) -> bool:
        return self.load is None

    def count(self, root: Path) -> DatasetStats:
        return self.module.count(root)


SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("market1501", market1501, market1501.load),
        DatasetSpec("market1501dg", market1501, market1501.load_dg),
        DatasetSpec("msmt17", msmt17, msmt17.load),
        DatasetSpec("msmt17dg", msmt17, msmt17.load_dg),
        DatasetSpec("cuhk03", cuhk03, cuhk03.load),
        DatasetSpec("cuhk03dg", cuhk03, cuhk03.load_dg),
        DatasetSpec("cuhk02dg", cuhk02, cuhk02.load_dg),
        DatasetSpec("cuhksysu", cuhksysu, cuhksysu.load),
        DatasetSpec("grid", grid, None),
        DatasetSpec("ilids", ilids, None),
        DatasetSpec("prid", prid, None),
        DatasetSpec("viper", viper, None),
    )
}
DATASET_NAMES: tuple[str, ...] = tuple(SPECS)


def get_spec(name: str) -> DatasetSpec:
    if name not in SPECS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return SPECS[name]


def num_splits(name: str) -> int:
    """10 for grid, ilids, prid and viper; 1 for the datasets with one fixed split."""
    spec = get_spec(name)
    return spec.module.NUM_SPLITS if spec.has_splits else 1


def directions(name: str, both: bool = False) -> tuple[str, ...]:
    """Query/gallery directions to evaluate: VIPeR with ``both`` (eval.viper_both_directions)
    gives ("a_to_b", "b_to_a"), whose metrics are averaged per split; otherwise ("a_to_b",)."""
    return DIRECTIONS if both and name == "viper" else DIRECTIONS[:1]


def create_dataset(name: str, root: str | Path, *, split_id: int = 0, split_seed: int = 1,
                   splits_dir: str | Path | None = None, direction: str = "a_to_b") -> ReIDDataset:
    """The dataset ``name`` read from the data root ``root``.

    For grid/ilids/prid/viper, ``split_id`` (0..9) selects one of the ten splits made from
    ``split_seed``: pinned in a split file under ``splits_dir`` when given (made on first use,
    reused while the seed and the file list are unchanged), computed in memory otherwise.
    ``direction="b_to_a"`` (VIPeR only) swaps query and gallery: query = cam_b, gallery = cam_a.
    """
    views = create_datasets(name, root, [split_id], split_seed=split_seed, splits_dir=splits_dir,
                            query_directions=(direction,))
    return views[split_id, direction]


def create_datasets(name: str, root: str | Path, split_ids: Sequence[int], *, split_seed: int = 1,
                    splits_dir: str | Path | None = None,
                    query_directions: Sequence[str] = ("a_to_b",)) -> dict[tuple[int, str], ReIDDataset]:
    """:func:`create_dataset` of every ``(split, direction)``, keyed so; the dataset (or its
    split file) is read once for all of them."""
    spec = get_spec(name)
    root = Path(root)
    available = directions(name, both=True)
    for direction in query_directions:
        if direction not in available:
            raise ConfigError(f"{name}: direction {direction!r} is not available; choose one of {', '.join(available)}")
    if not spec.has_splits:
        for split_id in split_ids:
            if split_id != 0:
                raise ConfigError(f"{name} has one fixed split; split_id must be 0, not {split_id}")
        dataset = spec.load(root)
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
        return get_spec(name).module.make_splits(root, split_seed)
    from bau.data.splits import ensure_splits, read_splits  # splits imports this module

    return read_splits(ensure_splits(name, root, split_seed, splits_dir))


def from_entry(name: str, root: Path, entry: SplitEntry) -> ReIDDataset:
    def items(key: str) -> list[ImageItem]:
        return [ImageItem(str(root / rel), int(pid), int(camid)) for rel, pid, camid in entry[key]]

    return ReIDDataset(name, root, items("train"), items("query"), items("gallery"))
