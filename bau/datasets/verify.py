"""`bau verify`: are the dataset folders complete, readable and of the expected size?

For each dataset it checks the folder layout (each missing folder is an error saying where it
was expected and what to do), decodes every image (each unreadable or truncated file is an
error naming it), parses the folder as training and evaluation would, and compares the image,
identity and camera counts with the published ones (bau.datasets.stats) or, on a synthetic root,
with those ``bau synth`` recorded in the root's marker file (a differing count is a warning
showing both numbers). Each dataset name runs its own parser's checks, so a DG variant
(e.g. cuhk03dg, cameras 1-2 only) is checked as training reads it; :func:`verify_groups` says
which names one report per dataset folder must check.
The JSON report is written even when there are errors; the exit status says whether any.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from bau.datasets._registry import get_parser, list_datasets
from bau.datasets.base import DatasetParser
from bau.datasets.stats import PUBLISHED, DatasetStats, PublishedStats
from bau.errors import BauError, DatasetError
from bau.io import image_mode_problem, read_json, write_json
from bau.layout import SYNTHETIC_MARKER

log = logging.getLogger(__name__)


def decode_error(path: Path) -> str | None:
    """Why ``path`` cannot be decoded, or None if it decodes completely."""
    try:
        with Image.open(path) as img:
            img.load()  # raises on truncated data (PIL does not load truncated images by default)
            mode = img.mode
    except Exception as err:  # noqa: BLE001 - any failure means the file is unreadable
        return f"{type(err).__name__}: {err}"
    return image_mode_problem(mode)


def find_unreadable(
    paths: list[Path], workers: int, decoded: dict[Path, str | None] | None = None
) -> list[dict[str, str]]:
    """``{"path", "error"}`` of every image that does not decode. Threads suffice: PIL releases
    the GIL while decoding. ``decoded`` caches results across datasets sharing a folder."""
    decoded = {} if decoded is None else decoded
    todo = [path for path in paths if path not in decoded]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        decoded.update(zip(todo, pool.map(decode_error, todo)))
    return [{"path": str(path), "error": decoded[path]} for path in paths if decoded[path]]


def expected_counts(root: Path) -> tuple[dict[str, PublishedStats], str, list[str]]:
    """(expected counts by folder-level name, where they come from, warnings)."""
    marker = root / SYNTHETIC_MARKER
    if not marker.is_file():
        published = {
            name: PublishedStats(entry.stats, f"published: {entry.source}", entry.note)
            for name, entry in PUBLISHED.items()
        }
        return published, "published", []
    content = read_json(marker)
    origin = f"bau.synth.expected_counts({content.get('scale')!r})"
    recorded = content.get("expected_counts")
    try:
        if not isinstance(recorded, dict):
            raise TypeError("the key is missing (markers written before bau synth recorded the counts)")
        table = {name: DatasetStats(**fields) for name, fields in recorded.items()}
    except TypeError as err:
        return (
            {},
            origin,
            [
                f"{root} is a synthetic benchmark but its {marker.name} records no valid "
                f"'expected_counts' ({err}); counts were not checked. "
                f"Write the benchmark again with bau synth to record them"
            ],
        )
    return {name: PublishedStats(stats, origin) for name, stats in table.items()}, origin, []


def verify_key(name: str) -> str:
    """The report key of dataset ``name``: its folder-level name, shared by the names that read
    one folder (market1501 and market1501dg -> "market1501")."""
    return get_parser(name).folder_key


def verify_groups(names: Iterable[str]) -> dict[str, list[str]]:
    """``{report key: the names among names that read that folder}``, sorted: one ``bau verify``
    call per folder with these names runs every name's own checks and decodes the images once."""
    groups: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        groups.setdefault(verify_key(name), []).append(name)
    return dict(sorted(groups.items()))


def compare_counts(found: DatasetStats, expected: PublishedStats) -> list[str]:
    """One warning per differing count (both numbers), then where the expected ones come from."""
    warnings = []
    for field in dataclasses.fields(DatasetStats):
        want, have = getattr(expected.stats, field.name), getattr(found, field.name)
        if want is not None and have is not None and want != have:
            warnings.append(f"{field.name}: found {have:,}, expected {want:,}")
    if warnings:
        warnings.append(f"expected counts: {expected.source}" + (f"; note: {expected.note}" if expected.note else ""))
    return warnings


def _images_of(parser: DatasetParser, root: Path, errors: list[str]) -> list[Path]:
    paths = []
    for rel in parser.layout.image_dirs:
        if (root / rel).is_dir():
            try:
                paths += parser.layout.image_paths(root, rel)
            except DatasetError as err:
                errors.append(str(err))
    return paths


def verify_dataset(
    name: str,
    root: Path,
    expected: Mapping[str, PublishedStats],
    workers: int,
    decoded: dict[Path, str | None] | None = None,
) -> dict:
    parser = get_parser(name)
    errors = list(parser.layout.problems(root))
    warnings: list[str] = []
    paths = _images_of(parser, root, errors)
    log.info("%s: decoding %d images with %d threads", name, len(paths), workers)
    unreadable = find_unreadable(paths, workers, decoded)
    errors += [
        f"{name}: cannot decode {bad['path']} ({bad['error']}); download or extract this file again"
        for bad in unreadable
    ]
    counts = None
    if not errors:
        try:
            counts = parser.check(root)
        except DatasetError as err:
            errors.append(str(err))
    want = expected.get(parser.folder_key)
    if counts is not None:
        if want is None:
            warnings.append(f"{name}: no expected counts for {parser.folder_key}; counts were not checked")
        else:
            warnings += [f"{name}: {message}" for message in compare_counts(counts, want)]
    return {
        "status": "error" if errors else "warning" if warnings else "ok",
        "folder": str(root / parser.layout.folder),
        "errors": errors,
        "warnings": warnings,
        "images_checked": len(paths),
        "unreadable": unreadable,
        "counts": dataclasses.asdict(counts) if counts is not None else None,
        "expected": dataclasses.asdict(want.stats) if want is not None else None,
        "expected_source": want.source if want is not None else None,
    }


def verify(names: Iterable[str], root: str | Path, workers: int | None = None) -> dict:
    """The verification report of ``names`` under the data root ``root``."""
    root = Path(root).absolute()  # messages name full paths, whatever the working directory
    workers = workers or os.cpu_count() or 1
    expected, origin, warnings = expected_counts(root) if root.is_dir() else ({}, "published", [])
    decoded: dict[Path, str | None] = {}  # market1501 and market1501dg share a folder: decode it once
    datasets = {name: verify_dataset(name, root, expected, workers, decoded) for name in dict.fromkeys(names)}
    for entry in datasets.values():
        if warnings and not entry["errors"]:
            entry["warnings"] += warnings
            entry["status"] = "warning"
    return {
        "data_root": str(root),
        "synthetic": (root / SYNTHETIC_MARKER).is_file(),
        "expected_counts": origin,
        "ok": not any(entry["errors"] for entry in datasets.values()),
        "datasets": datasets,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = list_datasets()
    parser.add_argument(
        "datasets",
        nargs="+",
        metavar="DATASET",
        choices=names,
        help=f"datasets to check (each with its own parser's rules): {', '.join(names)}",
    )
    parser.add_argument("--data-root", required=True, type=Path, help="folder holding the dataset folders")
    parser.add_argument("--out", required=True, type=Path, help="JSON report to write")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: all cores)")


def main(args: argparse.Namespace) -> int:
    report = verify(args.datasets, args.data_root, args.workers)
    write_json(args.out, report)
    for name, entry in report["datasets"].items():
        print(f"{name}: {entry['status']} ({entry['images_checked']} images decoded)")
        for message in entry["errors"]:
            print(f"  error: {message}")
        for message in entry["warnings"]:
            print(f"  warning: {message}")
    print(f"report written to {args.out}")
    if not report["ok"]:
        raise BauError(
            f"dataset check failed for {', '.join(n for n, e in report['datasets'].items() if e['errors'])}"
            f" (details above and in {args.out})"
        )
    return 0
