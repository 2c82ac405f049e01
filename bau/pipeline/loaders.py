"""Datasets over image files and the iteration-based training loader (docs/reference.md §2.7-2.9).

Reproducible batches: the trainer calls, at the start of every epoch (0-based ``epoch``)::

    loader.set_epoch(epoch)   # sampler -> pass 0 of `epoch`; worker seeds from (seed, epoch)
    loader.new_epoch()        # fresh iterator (a partly consumed one is discarded)
    batch = loader.next()     # `train.iters` times

after seeding the global generators from ``(seed, epoch)`` (with ``data.workers: 0`` the
transforms draw from the main process's torch generator). What an epoch sees is then a function
of ``(seed, epoch)`` only, so a run resumed at an epoch boundary replays the same batches and
the same augmentations (for the same number of workers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from bau.errors import ConfigError, DatasetError, TrainingError
from bau.io import to_rgb
from bau.pipeline.cache import DEFAULT_BUDGET_BYTES, DecodedImageCache
from bau.pipeline.sampler import RandomIdentitySampler
from bau.pipeline.transforms import TrainView, train_views

if TYPE_CHECKING:
    from bau.datasets.multisource import MultiSourceTrain

ImageTransform = Callable[[Image.Image], torch.Tensor]


def read_rgb(path: str) -> Image.Image:
    """Decode ``path`` as an 8-bit RGB image (:func:`bau.io.to_rgb`); an unreadable file, or one
    of a mode without a faithful RGB form, raises :class:`TrainingError` naming it."""
    try:
        with Image.open(path) as img:
            return to_rgb(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise TrainingError(
            f"cannot read image {path}: {err}. Replace or remove the file "
            "(`bau verify` checks every image of a dataset folder)"
        ) from err


def _path_of(item: Any) -> str:
    # A path, or an item whose first field is one (ImageItem, TrainItem).
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    if isinstance(item, Sequence) and item and isinstance(item[0], (str, os.PathLike)):
        return os.fspath(item[0])
    raise DatasetError(
        f"cannot read an image from a {type(item).__name__}: give image paths (str or os.PathLike), "
        "PIL images, or dataset items whose first field is a path"
    )


class TwoViewDataset(Dataset):
    """``(x_w, x_s, pid, domain)`` of one decoded image per item; ``(x_w, pid, domain)`` when
    ``strong`` is None (the baseline without augmented images).

    ``items``: ``(path, pid, camid, domain)`` tuples (``TrainItem``). ``weak`` and ``strong``:
    :class:`~bau.pipeline.transforms.TrainView` s of one size; the image is resized once and
    both views share it (the resize draws nothing). ``cache_bytes``: memory budget of the
    decoded (and resized) images kept between draws (:mod:`bau.pipeline.cache`); 0 decodes at
    every draw.
    """

    def __init__(
        self, items: Sequence[Sequence[Any]], weak: TrainView, strong: TrainView | None, cache_bytes: int = 0
    ) -> None:
        # Plain lists: cheap to index and to hand to worker processes.
        self.paths = [os.fspath(item[0]) for item in items]
        self.pids = [int(item[1]) for item in items]
        self.domains = [int(item[3]) for item in items]
        self.weak = weak
        self.strong = strong
        self.cache = DecodedImageCache(self.load, cache_bytes) if cache_bytes > 0 else None

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, path: str) -> tuple[Image.Image, Image.Image]:
        """The decoded image and its resize to the views' size."""
        img = read_rgb(path)
        return img, self.weak.resize(img)

    def __getitem__(self, index: int) -> tuple:
        path = self.paths[index]
        img, resized = self.load(path) if self.cache is None else self.cache.get(path)
        if self.strong is None:
            return self.weak(img, resized), self.pids[index], self.domains[index]
        return self.weak(img, resized), self.strong(img, resized), self.pids[index], self.domains[index]


class ImageDataset(Dataset):
    """``(transform(image), index)`` for each path, item whose first field is a path, or PIL
    image (in any mix)."""

    def __init__(self, images: Sequence[Any], transform: ImageTransform) -> None:
        self.images = [item if isinstance(item, Image.Image) else _path_of(item) for item in images]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        if not isinstance(image, Image.Image):
            return self.transform(read_rgb(image)), index
        try:
            return self.transform(to_rgb(image)), index
        except ValueError as err:
            raise DatasetError(f"image {index} of the list (a PIL image): {err}") from err


def loader_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of the DataLoader generator (hence of the worker seeds) for ``epoch`` on ``rank``."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


class IterLoader:
    """An endless view of a DataLoader: epochs are a fixed number of :meth:`next` calls.

    Only the end of the data (StopIteration) restarts the iterator; every other error, such as
    an unreadable image, propagates (the reference swallowed them all).
    """

    def __init__(self, loader: DataLoader, seed: int | None = None, rank: int = 0) -> None:
        self.loader = loader
        self.seed = seed
        self.rank = rank
        self._iter: Any = None

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """Rewind the sampler to ``epoch``'s first pass and reseed the worker seeds for it."""
        set_sampler_epoch = getattr(self.loader.sampler, "set_epoch", None)
        if set_sampler_epoch is not None:
            set_sampler_epoch(epoch)
        if self.seed is not None and self.loader.generator is not None:
            self.loader.generator.manual_seed(loader_seed(self.seed, epoch, self.rank))

    def new_epoch(self) -> None:
        self._iter = iter(self.loader)

    def next(self) -> Any:
        if self._iter is None:
            self.new_epoch()
        try:
            try:
                return next(self._iter)
            except StopIteration:
                self.new_epoch()
                return next(self._iter)
        except StopIteration:
            raise TrainingError(
                "the training loader yields no batch: check that the sources have at least "
                "train.batch_size / train.num_instances identities"
            ) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the current iterator's worker processes now.

        After a worker error the iterator is caught in the exception's traceback cycle; left to
        the garbage collector its workers are only killed after a 5 s join timeout each. torch
        offers no public method for this, hence the private one.
        """
        shutdown = getattr(self._iter, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        self._iter = None


def build_train_loader(
    train: MultiSourceTrain,
    cfg: Mapping[str, Any],
    seed: int,
    *,
    num_replicas: int = 1,
    rank: int = 0,
    cache_bytes: int | None = None,
) -> IterLoader:
    """The training :class:`IterLoader` over ``train.items`` (``(path, pid, camid, domain)``) for
    the resolved run config ``cfg``; ``seed`` is the run seed (``cfg["seed"]``).

    Under ``num_replicas`` processes each rank loads ``train.batch_size / num_replicas`` images
    per batch: its whole identities of the global batch. ``cache_bytes``: the memory budget of
    decoded images kept between epochs (:class:`~bau.pipeline.cache.DecodedImageCache`); None =
    the default budget with ``data.workers: 0`` and no cache with worker processes (which would
    each lose theirs every epoch); 0 = no cache. The cache changes no batch: the same images,
    the same augmentations.
    """
    batch_size, num_instances = cfg["train"]["batch_size"], cfg["train"]["num_instances"]
    if batch_size % (num_instances * num_replicas):
        raise ConfigError(
            f"train.batch_size={batch_size} must be a multiple of train.num_instances={num_instances}"
            + (f" x {num_replicas} processes" if num_replicas > 1 else "")
            + " (batches are whole identities of num_instances images each)"
        )
    items = train.items
    sampler = RandomIdentitySampler(
        [item[1] for item in items], batch_size, num_instances, seed, num_replicas=num_replicas, rank=rank
    )
    if sampler.num_pids < sampler.num_pids_per_batch:
        raise ConfigError(
            f"train.batch_size / train.num_instances = {sampler.num_pids_per_batch} identities per batch, "
            f"but the sources have only {sampler.num_pids}; lower train.batch_size"
        )
    weak, strong = train_views(cfg)
    workers = cfg["data"]["workers"]
    if cache_bytes is None:
        cache_bytes = DEFAULT_BUDGET_BYTES if workers == 0 else 0
    dataset = TwoViewDataset(items, weak, strong, cache_bytes)
    generator = torch.Generator()
    loader = DataLoader(
        dataset,
        batch_size=batch_size // num_replicas,
        sampler=sampler,
        num_workers=workers,
        pin_memory=cfg["train"]["device"] != "cpu" and torch.cuda.is_available(),
        drop_last=True,
        persistent_workers=False,
        generator=generator,
    )
    iter_loader = IterLoader(loader, seed=seed, rank=rank)
    iter_loader.set_epoch(0)
    return iter_loader
