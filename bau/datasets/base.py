"""What every dataset parser returns, the parser contract, and the pieces the parsers share.

A parser reads one dataset folder under the data root (docs/reference.md §1) into a
:class:`ReIDDataset`: lists of :class:`ImageItem` (full image path, identity, camera). Only
the training list is relabelled (identities 0..n-1 in sorted order of their keys, so labels are
deterministic); query and gallery keep the raw identities, which matter only for equality.
:class:`DatasetParser` is the contract every registered dataset name fulfils
(bau.datasets.register_dataset).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bau.datasets.stats import DatasetStats
from bau.errors import DatasetError


class ImageItem(NamedTuple):
    path: str
    pid: int
    camid: int


@dataclass
class ReIDDataset:
    name: str
    root: Path
    train: list[ImageItem]
    query: list[ImageItem] = field(default_factory=list)
    gallery: list[ImageItem] = field(default_factory=list)

    @property
    def num_train_pids(self) -> int:
        return len({item.pid for item in self.train})

    @property
    def num_train_cams(self) -> int:
        return len({item.camid for item in self.train})

    @property
    def num_query_pids(self) -> int:
        return len({item.pid for item in self.query})

    @property
    def num_gallery_pids(self) -> int:
        return len({item.pid for item in self.gallery})


@dataclass(frozen=True)
class Layout:
    """The folders and files one dataset must have under the data root.

    ``image_dirs`` and ``files`` are relative to the data root; ``how_to`` says how to obtain
    the folder; ``misnamed`` maps wrong top-level folder names users are known to have to an
    explanation (e.g. GRID's ``underground_grid``).
    """

    dataset: str
    title: str
    folder: str
    image_dirs: tuple[str, ...]
    pattern: str
    how_to: str
    files: tuple[str, ...] = ()
    misnamed: dict[str, str] = field(default_factory=dict)

    def problems(self, root: Path) -> list[str]:
        """One message per missing folder or file (the top folder alone if it is missing)."""
        root = Path(root)
        if not root.is_dir():
            return [
                f"{self.dataset}: the data root {root} does not exist or is not a folder; "
                f"pass the folder that holds the dataset folders with --data-root"
            ]
        top = root / self.folder
        if not top.is_dir():
            return [self._missing_top(root)]
        messages = []
        for rel in self.image_dirs:
            if not (root / rel).is_dir():
                messages.append(
                    f"{self.dataset}: folder '{rel}' is missing: expected {root / rel}. "
                    f"{self.title} must be laid out as {self.tree()} under {root}; {self.how_to}"
                )
        for rel in self.files:
            if not (root / rel).is_file():
                messages.append(f"{self.dataset}: file '{rel}' is missing: expected {root / rel}. {self.how_to}")
        return messages

    def check(self, root: Path) -> None:
        """Raise :class:`DatasetError` listing every missing folder or file."""
        messages = self.problems(root)
        if messages:
            raise DatasetError("\n".join(messages))

    def tree(self) -> str:
        entries = [*self.image_dirs, *self.files]
        return ", ".join(f"{rel}/" if rel in self.image_dirs else rel for rel in entries)

    def image_paths(self, root: Path, rel_dir: str) -> list[Path]:
        """Sorted images of one of ``image_dirs``; an empty folder is an error."""
        folder = Path(root) / rel_dir
        paths = sorted(folder.glob(self.pattern))
        if not paths:
            raise DatasetError(
                f"{self.dataset}: folder {folder} holds no {self.pattern} images; {self.title} "
                f"images are {self.pattern} files directly in it. {self.how_to}"
            )
        return paths

    def all_images(self, root: Path) -> list[Path]:
        return [path for rel in self.image_dirs for path in self.image_paths(root, rel)]

    def _missing_top(self, root: Path) -> str:
        for wrong, why in self.misnamed.items():
            if (root / wrong).exists():
                return (
                    f"{self.dataset}: found {root / wrong} but expected {root / self.folder}: "
                    f"{why} Rename it: mv {root / wrong} {root / self.folder}"
                )
        notes = " ".join(self.misnamed.values())
        return (
            f"{self.dataset}: folder '{self.folder}' is missing: expected {root / self.folder} "
            f"holding {self.tree()}. {self.how_to}" + (f" (Note: {notes})" if notes else "")
        )


def relabel(keyed: Iterable[tuple[str, Hashable, int]]) -> list[ImageItem]:
    """Training items from ``(path, identity key, camid)``: keys become 0..n-1 in sorted order."""
    keyed = list(keyed)
    labels = {key: label for label, key in enumerate(sorted({key for _, key, _ in keyed}))}
    return [ImageItem(path, labels[key], camid) for path, key, camid in keyed]


def parse_name(path: Path, pattern: re.Pattern, dataset: str, example: str) -> tuple[int, int]:
    """(pid, camera) from the first match of ``pattern`` in the file's basename."""
    match = pattern.search(path.name)
    if match is None:
        raise DatasetError(
            f"{dataset}: cannot read identity and camera from the file name {path} "
            f"(expected names like {example}); remove files that do not belong to the dataset"
        )
    return int(match.group(1)), int(match.group(2))


def check_range(value: int, low: int, high: int, what: str, path: Path, dataset: str) -> None:
    if not low <= value <= high:
        raise DatasetError(
            f"{dataset}: {what} {value} of {path} is outside {low}..{high}; the folder does not "
            f"hold the expected dataset (or a file was renamed): remove or fix that file"
        )


NameParser = Callable[[Path], "tuple[int, int] | None"]


def read_folder(layout: Layout, root: Path, rel_dir: str, parse: NameParser) -> list[tuple[str, int, int]]:
    """``(path, pid, camid)`` of every image of one folder; ``parse`` returns None to drop one."""
    rows = []
    for path in layout.image_paths(root, rel_dir):
        parsed = parse(path)
        if parsed is not None:
            rows.append((str(path), *parsed))
    return rows


def market_style(name: str, layout: Layout, root: Path, parse: NameParser) -> ReIDDataset:
    """train (relabelled) / query / gallery from the three folders of ``layout.image_dirs``."""
    layout.check(root)
    train_dir, query_dir, gallery_dir = layout.image_dirs
    train = relabel(read_folder(layout, root, train_dir, parse))
    query = [ImageItem(*row) for row in read_folder(layout, root, query_dir, parse)]
    gallery = [ImageItem(*row) for row in read_folder(layout, root, gallery_dir, parse)]
    return ReIDDataset(name, Path(root), train, query, gallery)


def market_style_dg(name: str, layout: Layout, root: Path, parse: NameParser) -> ReIDDataset:
    """All three folders as training data: identities of the training folder are keyed
    ("train", pid), those of query and gallery ("test", pid), so the two namespaces never
    merge while a test person seen in query and gallery stays one class."""
    layout.check(root)
    keyed = []
    for index, rel_dir in enumerate(layout.image_dirs):
        namespace = "train" if index == 0 else "test"
        keyed += [(path, (namespace, pid), camid) for path, pid, camid in read_folder(layout, root, rel_dir, parse)]
    return ReIDDataset(name, Path(root), relabel(keyed))


def market_style_counts(dataset: ReIDDataset) -> DatasetStats:
    """Counts of a train/query/gallery dataset as ``bau verify`` compares them (bau.datasets.stats)."""
    items = [*dataset.train, *dataset.query, *dataset.gallery]
    return DatasetStats(
        train_images=len(dataset.train),
        train_ids=dataset.num_train_pids,
        query_images=len(dataset.query),
        query_ids=dataset.num_query_pids,
        gallery_images=len(dataset.gallery),
        gallery_ids=dataset.num_gallery_pids,
        cameras=len({item.camid for item in items}),
    )


SplitEntry = dict[str, list[list]]  # "train" / "query" / "gallery" -> [relative path, pid, camid]


def split_entry(root: Path, train: list[ImageItem], query: list[ImageItem], gallery: list[ImageItem]) -> SplitEntry:
    """One split as stored in a split file: paths relative to the data root."""
    root = Path(root)

    def rows(items: list[ImageItem]) -> list[list]:
        return [[Path(item.path).relative_to(root).as_posix(), int(item.pid), int(item.camid)] for item in items]

    return {"train": rows(train), "query": rows(query), "gallery": rows(gallery)}


def files_digest(root: Path, paths: Iterable[Path], extra: bytes = b"") -> str:
    """sha256 of the sorted relative paths (plus ``extra``): changes when the file list does."""
    digest = hashlib.sha256()
    for rel in sorted(Path(path).relative_to(root).as_posix() for path in paths):
        digest.update(rel.encode() + b"\n")
    digest.update(extra)
    return digest.hexdigest()


@dataclass(frozen=True)
class DatasetParser:
    """How one dataset name is read from the data root: the contract of every registered dataset.

    A dataset has either one fixed split, read by ``load``, or ``num_splits`` seeded splits made
    by ``make_splits`` and pinned in split files (bau.datasets.splits), never both. Several
    names may read one folder (e.g. ``market1501`` and its DG variant ``market1501dg``): they
    share ``layout`` and ``count`` and differ in ``load``.
    """

    name: str
    """The dataset name used in configs, on the command line and in result paths."""
    layout: Layout
    """The folders and files the dataset needs under the data root (checked before parsing)."""
    count: Callable[[Path], DatasetStats]
    """Counts of the folder as ``bau verify`` compares them with the published (or synthetic)
    ones, keyed by ``folder_key`` (bau.datasets.stats says what each field counts)."""
    load: Callable[[Path], ReIDDataset] | None = None
    """The fixed split from the data root: relabelled train, raw-identity query and gallery
    (training-only datasets leave query and gallery empty). Raises DatasetError on bad files."""
    make_splits: Callable[[Path, int], list[SplitEntry]] | None = None
    """``(root, seed)`` -> the ``num_splits`` split entries (paths relative to the root),
    deterministic in the seed and the file list. Raises DatasetError on bad files."""
    fingerprint: Callable[[Path], str] | None = None
    """A digest of what ``make_splits`` reads: a split file is remade when it changes."""
    num_splits: int = 1
    """How many splits ``make_splits`` returns; 1 for a dataset with a fixed split."""

    def __post_init__(self) -> None:
        if (self.load is None) == (self.make_splits is None):
            raise TypeError(f"dataset parser {self.name!r}: give exactly one of load and make_splits")
        if self.make_splits is not None and (self.fingerprint is None or self.num_splits < 1):
            raise TypeError(f"dataset parser {self.name!r}: make_splits needs a fingerprint and num_splits >= 1")
        if self.load is not None and self.num_splits != 1:
            raise TypeError(
                f"dataset parser {self.name!r}: a dataset read by load has one split, not {self.num_splits}"
            )

    @property
    def has_splits(self) -> bool:
        return self.make_splits is not None

    @property
    def folder_key(self) -> str:
        """The folder-level name (``layout.dataset``): key of the expected counts, shared by all
        names that read the folder."""
        return self.layout.dataset

    def check(self, root: Path) -> DatasetStats:
        """Parse the folder as training and evaluation do (raising DatasetError): this name's own
        rules, e.g. cuhk03dg's cameras 1-2; then return the folder's counts."""
        if self.make_splits is not None:
            self.make_splits(root, 1)  # validates .mat partitions, shared persons, pairs
        else:
            self.load(root)
        return self.count(root)
