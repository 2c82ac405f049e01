"""Writing the synthetic benchmark: all nine dataset folders plus the marker file.

Images are rendered in parallel over chunks; each image's randomness comes from
(seed, dataset, index), so the output does not depend on the number of workers. Everything
is written into a staging folder inside the output directory first; each complete dataset
folder is then moved into place with one rename, and the marker (``MARKER``) is
written last, so its presence means the benchmark is complete. The marker records the scale,
the seed, the bau version, PRID's number of shared persons (read by bau.datasets.prid) and the
counts `bau verify` expects (bau.synth.counts).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bau import __version__
from bau.errors import DatasetError
from bau.io import atomic_open, write_json
from bau.layout import SYNTHETIC_MARKER
from bau.synth.counts import expected_counts
from bau.synth.layouts import build_plans, scale_size
from bau.synth.render import ImageSpec, render_image
from bau.synth.styles import STYLES

MARKER = SYNTHETIC_MARKER  # read by bau verify and the PRID parser
_STAGING = ".bau-synth-staging"
log = logging.getLogger(__name__)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def save_image(spec: ImageSpec, seed: int, root: Path) -> None:
    image = render_image(spec, seed)
    suffix = Path(spec.path).suffix.lower()
    with atomic_open(root / spec.path, "wb") as handle:
        if suffix in (".jpg", ".jpeg"):
            image.save(handle, format="JPEG", quality=STYLES[spec.dataset].jpeg_quality)
        elif suffix == ".png":
            image.save(handle, format="PNG", compress_level=1)
        elif suffix == ".bmp":
            image.save(handle, format="BMP")
        else:
            raise ValueError(f"{spec.path}: no image format for suffix {suffix!r}")


def _render_chunk(args: tuple[list[ImageSpec], int, str]) -> int:
    specs, seed, root = args
    for spec in specs:
        save_image(spec, seed, Path(root))
    return len(specs)


def _chunks(specs: list[ImageSpec], workers: int) -> list[list[ImageSpec]]:
    # Several chunks per worker balance the load; a chunk holds consecutive images, mostly of
    # one dataset, so a worker reuses its cached camera scenes.
    size = max(16, min(256, len(specs) // (8 * workers) + 1))
    return [specs[i : i + size] for i in range(0, len(specs), size)]


def render_all(specs: list[ImageSpec], seed: int, root: Path, workers: int) -> None:
    """Render and save ``specs`` under ``root`` with ``workers`` processes (1 = in this process)."""
    if workers <= 1:
        _render_chunk((specs, seed, str(root)))
        return
    tasks = [(chunk, seed, str(root)) for chunk in _chunks(specs, workers)]
    # spawn: the workers never inherit the caller's threads (torch, BLAS) in an unsafe state.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in pool.map(_render_chunk, tasks):
            pass


def _refuse_foreign_folders(out: Path, folders: list[str]) -> None:
    """Never delete a dataset folder that bau synth did not write (e.g. a real data root)."""
    if (out / MARKER).is_file() or (out / _STAGING).is_dir():
        return
    foreign = [name for name in folders if (out / name).exists()]
    if foreign:
        raise DatasetError(
            f"{out} already holds {', '.join(foreign)} but no {MARKER}, so they were not written by "
            f"bau synth (real datasets?); bau synth replaces these folders and refuses to delete them. "
            f"Choose another --out folder, or remove them yourself if they are disposable."
        )


def generate(out: str | os.PathLike, scale: str = "tiny", seed: int = 1, workers: int | None = None) -> dict[str, int]:
    """Write the nine synthetic datasets under ``out``; return the number of images per dataset."""
    out = Path(out)
    plans = build_plans(scale, seed)
    workers = default_workers() if workers is None else max(1, int(workers))
    _refuse_foreign_folders(out, [plan.folder for plan in plans])
    staging = out / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)  # from here on the folder is marked as ours, even if interrupted
    (out / MARKER).unlink(missing_ok=True)  # the folders are about to change
    start = time.perf_counter()
    render_all([spec for plan in plans for spec in plan.images], seed, staging, workers)
    for plan in plans:
        for relpath, writer in plan.extra_files.items():
            writer(staging / relpath)
    for plan in plans:
        target = out / plan.folder
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / plan.folder, target)
    # prid_shared_ids: the PRID parser's S (persons seen by both cameras; 200 in the real data).
    # expected_counts: what bau verify compares, recorded here so it never imports bau.synth.
    counts_table = {name: dataclasses.asdict(stats) for name, stats in expected_counts(scale).items()}
    write_json(
        out / MARKER,
        {
            "scale": scale,
            "seed": int(seed),
            "bau_version": __version__,
            "prid_shared_ids": scale_size(scale).prid[0],
            "expected_counts": counts_table,
        },
    )
    shutil.rmtree(staging)
    counts = {plan.name: len(plan.images) for plan in plans}
    log.info(
        "wrote %d synthetic images (%s, seed %d) to %s in %.1f s with %d workers",
        sum(counts.values()),
        scale,
        seed,
        out,
        time.perf_counter() - start,
        workers,
    )
    return counts
