"""Datasets, IterLoader and build_train_loader (docs/reference.md §2.7-2.9 with the section-8 choices)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import bau.pipeline.loaders as loaders
from bau.config import validate_run
from bau.datasets.multisource import MultiSourceTrain, TrainItem
from bau.errors import ConfigError, TrainingError
from bau.pipeline.loaders import ImageDataset, IterLoader, TwoViewDataset, build_train_loader, read_rgb
from bau.pipeline.transforms import TrainView, build_test_transform
from tests.pipeline.helpers import write_images

H, W = 32, 16


def run_config(workers: int = 0, **sections) -> dict:
    cfg = {
        "seed": 3,
        "data": {"workers": workers},
        "model": {"height": H, "width": W},
        "train": {"batch_size": 8, "num_instances": 2, "device": "cpu"},
        "augment": {"prob": 0.5},
    }
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return validate_run(cfg)


@pytest.fixture(scope="module")
def train_set(tmp_path_factory: pytest.TempPathFactory) -> MultiSourceTrain:
    """Two domains, 10 identities with 1 to 4 images each."""
    paths = write_images(tmp_path_factory.mktemp("train"), 26)
    counts = [1, 2, 3, 4, 2, 3, 4, 2, 3, 2]
    pids = [pid for pid, n in enumerate(counts) for _ in range(n)]
    items = [TrainItem(path, pid, index % 3, int(pid >= 5)) for index, (path, pid) in enumerate(zip(paths, pids))]
    return MultiSourceTrain(items, num_classes=10, class_domains=[0] * 5 + [1] * 5, domain_names=["a", "b"])


def collect(loader: IterLoader, epoch: int, count: int, reseed: bool) -> list:
    if reseed:  # what the trainer does at every epoch start (workers = 0 draw from this generator)
        torch.manual_seed(1000 + epoch)
    loader.set_epoch(epoch)
    loader.new_epoch()
    return [loader.next() for _ in range(count)]


def assert_same_batches(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            assert torch.equal(u, v)


# --- datasets ---------------------------------------------------------------------------------


def test_two_view_dataset_decodes_once(train_set: MultiSourceTrain, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    monkeypatch.setattr(loaders, "read_rgb", lambda path: reads.append(path) or read_rgb(path))
    views = []

    class View(TrainView):
        def __init__(self, name: str) -> None:
            super().__init__(H, W)
            self.name = name

        def resize(self, img: Image.Image) -> Image.Image:
            views.append(("resize", img))
            return super().resize(img)

        def __call__(self, img: Image.Image, resized: Image.Image | None = None) -> str:
            views.append((self.name, img, resized))
            return self.name

    dataset = TwoViewDataset(train_set.items, View("w"), View("s"))
    assert len(dataset) == len(train_set.items)
    assert dataset[5] == ("w", "s", train_set.items[5][1], train_set.items[5][3])
    assert reads == [train_set.items[5][0]]
    (_, decoded), (_, img_w, resized_w), (_, img_s, resized_s) = views  # one decode, one resize
    assert img_w is img_s is decoded and decoded.mode == "RGB"
    assert resized_w is resized_s and resized_w.size == (W, H)


def test_two_view_dataset_without_strong_view(train_set: MultiSourceTrain) -> None:
    dataset = TwoViewDataset(train_set.items, TrainView(H, W), None)
    x, pid, domain = dataset[25]
    assert x.shape == (3, H, W) and (pid, domain) == (9, 1)


def test_image_dataset(tmp_path: Path) -> None:
    paths = write_images(tmp_path, 3)
    Image.open(paths[1]).convert("L").save(paths[1])  # grayscale files come out RGB
    transform = build_test_transform(H, W)
    for source in (paths, [Path(p) for p in paths], [(p, 0, 0) for p in paths]):
        dataset = ImageDataset(source, transform)
        img, index = dataset[1]
        assert index == 1 and img.shape == (3, H, W)
        assert torch.equal(img, transform(Image.open(paths[1]).convert("RGB")))


# --- IterLoader -------------------------------------------------------------------------------


class Failing(Dataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, index: int) -> int:
        if index == 3:
            raise ValueError("bad sample 3")
        return index


def test_iter_loader_restarts_only_at_the_end() -> None:
    loader = IterLoader(DataLoader(list(range(5)), batch_size=2, drop_last=True))
    loader.new_epoch()
    assert [loader.next().tolist() for _ in range(5)] == [[0, 1], [2, 3], [0, 1], [2, 3], [0, 1]]
    loader.new_epoch()  # discards the partly consumed iterator
    assert loader.next().tolist() == [0, 1]


def test_iter_loader_propagates_other_errors() -> None:
    loader = IterLoader(DataLoader(Failing(), batch_size=2))
    loader.new_epoch()
    assert loader.next().tolist() == [0, 1]
    with pytest.raises(ValueError, match="bad sample 3"):
        loader.next()


def test_iter_loader_with_no_batch() -> None:
    loader = IterLoader(DataLoader(list(range(3)), batch_size=4, drop_last=True))
    with pytest.raises(TrainingError, match="no batch"):
        loader.next()


@pytest.mark.parametrize("workers", [0, 2])
def test_unreadable_image_names_the_file(train_set: MultiSourceTrain, tmp_path: Path, workers: int) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(Path(train_set.items[0][0]).read_bytes()[:200])
    for bad in (broken, truncated):
        items = [(str(bad), 0, 0, 0)] * 2 + list(train_set.items[2:4])
        dataset = TwoViewDataset(items, TrainView(H, W), None)
        loader = IterLoader(DataLoader(dataset, batch_size=2, num_workers=workers))
        with pytest.raises(TrainingError, match=str(bad)):
            loader.next()
        assert not multiprocessing.active_children()  # workers stopped at once, not at garbage collection


def test_missing_image_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="nowhere.jpg"):
        read_rgb(str(tmp_path / "nowhere.jpg"))


# --- build_train_loader -----------------------------------------------------------------------


def test_batches_of_the_train_loader(train_set: MultiSourceTrain) -> None:
    loader = build_train_loader(train_set, run_config(), seed=3)
    assert loader.loader.batch_size == 8 and loader.loader.drop_last and not loader.loader.pin_memory
    loader.new_epoch()
    for _ in range(4):  # more than one pass: the loader wraps
        x_w, x_s, pids, domains = loader.next()
        assert x_w.shape == x_s.shape == (8, 3, H, W) and x_w.dtype == torch.float32
        assert pids.dtype == torch.int64
        groups = pids.view(4, 2)
        assert (groups == groups[:, :1]).all() and len(set(groups[:, 0].tolist())) == 4
        assert torch.equal(domains, (pids >= 5).long())
        assert not torch.equal(x_w, x_s)


def test_baseline_loader_has_no_strong_view(train_set: MultiSourceTrain) -> None:
    loader = build_train_loader(train_set, run_config(method={"strong_view": False}), seed=3)
    x_w, pids, domains = loader.next()
    assert x_w.shape == (8, 3, H, W) and pids.shape == domains.shape == (8,)


@pytest.mark.parametrize("workers", [0, 2])
def test_resumed_epoch_replays_batches(train_set: MultiSourceTrain, workers: int) -> None:
    cfg = run_config(workers)
    reseed = workers == 0
    running = build_train_loader(train_set, cfg, seed=3)
    epochs = [collect(running, epoch, 4, reseed) for epoch in range(2)]
    resumed = build_train_loader(train_set, cfg, seed=3)
    assert_same_batches(collect(resumed, 1, 4, reseed), epochs[1])
    assert not torch.equal(epochs[0][0][0], epochs[1][0][0])  # epochs differ
    other_seed = build_train_loader(train_set, cfg, seed=4)
    assert not torch.equal(collect(other_seed, 1, 1, reseed)[0][2], epochs[1][0][2])


def test_worker_augmentation_ignores_the_main_generator(train_set: MultiSourceTrain) -> None:
    loader = build_train_loader(train_set, run_config(2), seed=3)
    torch.manual_seed(1)
    first = collect(loader, 0, 2, reseed=False)
    torch.manual_seed(2)
    assert_same_batches(collect(loader, 0, 2, reseed=False), first)


def test_ranks_load_their_identities(train_set: MultiSourceTrain) -> None:
    cfg = run_config(train={"batch_size": 8, "num_instances": 2})
    whole = collect(build_train_loader(train_set, cfg, seed=3), 0, 1, reseed=True)[0][2]
    parts = [
        collect(build_train_loader(train_set, cfg, seed=3, num_replicas=2, rank=r), 0, 1, reseed=True)[0][2]
        for r in range(2)
    ]
    assert torch.equal(torch.cat(parts), whole)


def test_config_errors(train_set: MultiSourceTrain) -> None:
    with pytest.raises(ConfigError, match="train.batch_size=10 must be a multiple of train.num_instances=4"):
        build_train_loader(train_set, run_config(train={"batch_size": 10, "num_instances": 4}), seed=1)
    with pytest.raises(ConfigError, match="only 10"):
        build_train_loader(train_set, run_config(train={"batch_size": 24, "num_instances": 2}), seed=1)
