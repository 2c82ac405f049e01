"""Dataset names -> parsers: the twelve reference datasets and ``register_dataset`` for more.

Datasets with a fixed train/query/gallery (or training-only) split have a ``load`` function.
The small test datasets (grid, ilids, prid, viper) have ten splits each, made by
``make_splits(root, seed)`` and pinned in a split file (bau.datasets.splits). Building a
:class:`ReIDDataset` from a name is the factory's job (bau.datasets._factory).
"""

from __future__ import annotations

from bau.datasets import cuhk02, cuhk03, cuhksysu, grid, ilids, market1501, msmt17, prid, viper
from bau.datasets.base import DatasetParser
from bau.errors import ConfigError

DIRECTIONS = ("a_to_b", "b_to_a")

_PARSERS: dict[str, DatasetParser] = {}


def register_dataset(parser: DatasetParser) -> DatasetParser:
    """Make ``parser.name`` usable in configs and on the command line; a name is registered once."""
    if parser.name in _PARSERS:
        raise ConfigError(f"dataset {parser.name!r} is already registered; choose another name")
    _PARSERS[parser.name] = parser
    return parser


def list_datasets() -> tuple[str, ...]:
    """Every registered dataset name, in registration order."""
    return tuple(_PARSERS)


def get_parser(name: str) -> DatasetParser:
    if name not in _PARSERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(_PARSERS)}")
    return _PARSERS[name]


def num_splits(name: str) -> int:
    """10 for grid, ilids, prid and viper; 1 for the datasets with one fixed split."""
    return get_parser(name).num_splits


def directions(name: str, both: bool = False) -> tuple[str, ...]:
    """Query/gallery directions to evaluate: VIPeR with ``both`` (eval.viper_both_directions)
    gives ("a_to_b", "b_to_a"), whose metrics are averaged per split; otherwise ("a_to_b",)."""
    return DIRECTIONS if both and name == "viper" else DIRECTIONS[:1]


def _fixed(name: str, module, load) -> DatasetParser:
    return DatasetParser(name, module.LAYOUT, module.count, load=load)


def _split(name: str, module) -> DatasetParser:
    return DatasetParser(
        name,
        module.LAYOUT,
        module.count,
        make_splits=module.make_splits,
        fingerprint=module.fingerprint,
        num_splits=module.NUM_SPLITS,
    )


for _parser in (
    _fixed("market1501", market1501, market1501.load),
    _fixed("market1501dg", market1501, market1501.load_dg),
    _fixed("msmt17", msmt17, msmt17.load),
    _fixed("msmt17dg", msmt17, msmt17.load_dg),
    _fixed("cuhk03", cuhk03, cuhk03.load),
    _fixed("cuhk03dg", cuhk03, cuhk03.load_dg),
    _fixed("cuhk02dg", cuhk02, cuhk02.load_dg),
    _fixed("cuhksysu", cuhksysu, cuhksysu.load),
    _split("grid", grid),
    _split("ilids", ilids),
    _split("prid", prid),
    _split("viper", viper),
):
    register_dataset(_parser)

# The twelve reference datasets (list_datasets() also has those registered later).
DATASET_NAMES: tuple[str, ...] = list_datasets()
