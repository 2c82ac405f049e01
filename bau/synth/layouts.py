"""The nine datasets' on-disk layouts: folders, file names, formats and who appears where.

Each planner lists the images of one dataset (path, identity, camera) in the real layout of
docs/reference.md §1, at the size of a scale. Image counts, identity counts and camera
coverage depend on the scale only; the seed changes which cameras a person is seen in and
GRID's .mat splits, never a count (``bau verify`` checks them against
``bau.synth.expected_counts``). Identity keys are namespaced per dataset, so no person
appears in two datasets, and train and test identities never coincide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from bau.errors import ConfigError
from bau.io import atomic_open
from bau.layout import SYNTHETIC_MARKER
from bau.synth.render import ImageSpec, derive_rng

_PLAN = 5  # stream tag of the layout generators (see bau.synth.render)


@dataclass(frozen=True)
class MarketLikeSize:
    """A dataset with bounding_box_train / query / bounding_box_test folders."""

    train_ids: int
    test_ids: int
    train_per_id: tuple[int, int]
    query_per_id: tuple[int, int]
    gallery_per_id: tuple[int, int]
    cameras_per_id: int
    distractors: int = 0  # Market pid 0 (bad detections, gallery only)
    junk: int = 0  # Market pid -1 (dropped by the parser)


@dataclass(frozen=True)
class ScaleSize:
    market1501: MarketLikeSize
    msmt17: MarketLikeSize
    cuhk03: MarketLikeSize
    cuhk02_pairs: tuple[int, int, int, int, int]  # identities in P1..P5
    cuhksysu: tuple[int, tuple[int, int]]  # identities, images per identity
    grid: tuple[int, int]  # identities (probe = gallery), gallery distractors
    ilids: int  # identities
    prid: tuple[int, int, int]  # identities in both cameras, cam_a total, cam_b total
    viper: int  # identities (one image per camera)


SCALES: dict[str, ScaleSize] = {
    "tiny": ScaleSize(
        market1501=MarketLikeSize(64, 64, (6, 10), (1, 2), (3, 6), 3, distractors=48, junk=24),
        msmt17=MarketLikeSize(64, 64, (6, 10), (2, 2), (4, 8), 4),
        cuhk03=MarketLikeSize(64, 48, (8, 10), (2, 2), (5, 8), 2),
        cuhk02_pairs=(20, 8, 5, 6, 7),
        cuhksysu=(96, (2, 4)),
        grid=(50, 100),
        ilids=40,
        prid=(40, 60, 120),
        viper=80,
    ),
    # The default run's scale: tiny's training sets (CPU training), test sets large enough that
    # one query moves R-1 by at most ~0.3 points (330-360 queries each), and the four small
    # datasets at their real protocol sizes (GRID 125 + 775 distractors, iLIDS 119, PRID
    # 385/749, VIPeR 632).
    "cpu": ScaleSize(
        market1501=MarketLikeSize(64, 240, (6, 10), (1, 2), (3, 6), 3, distractors=120, junk=24),
        msmt17=MarketLikeSize(64, 170, (6, 10), (2, 2), (4, 8), 4),
        cuhk03=MarketLikeSize(64, 170, (8, 10), (2, 2), (5, 8), 2),
        cuhk02_pairs=(20, 8, 5, 6, 7),
        cuhksysu=(96, (2, 4)),
        grid=(250, 775),
        ilids=119,
        prid=(200, 385, 749),
        viper=632,
    ),
    "small": ScaleSize(
        market1501=MarketLikeSize(200, 200, (6, 12), (1, 2), (3, 7), 3, distractors=150, junk=60),
        msmt17=MarketLikeSize(200, 240, (6, 12), (2, 3), (4, 10), 4),
        cuhk03=MarketLikeSize(200, 150, (8, 11), (2, 2), (5, 9), 2),
        cuhk02_pairs=(60, 20, 8, 12, 15),
        cuhksysu=(300, (2, 4)),
        grid=(120, 300),
        ilids=80,
        prid=(100, 190, 375),
        viper=316,
    ),
    "medium": ScaleSize(
        market1501=MarketLikeSize(500, 500, (8, 14), (1, 3), (4, 8), 4, distractors=400, junk=150),
        msmt17=MarketLikeSize(500, 600, (8, 14), (2, 3), (5, 12), 4),
        cuhk03=MarketLikeSize(500, 350, (8, 11), (2, 2), (5, 9), 2),
        cuhk02_pairs=(240, 76, 27, 48, 60),
        cuhksysu=(1000, (2, 5)),
        grid=(250, 775),
        ilids=119,
        prid=(200, 385, 749),
        viper=632,
    ),
}

GRID_SPLITS = 10
CUHK02_PAIRS = ("P1", "P2", "P3", "P4", "P5")


@dataclass
class DatasetPlan:
    """Everything one dataset folder holds: images to render and other files to write."""

    name: str  # dataset key (bau.synth.expected_counts, bau.synth.styles.STYLES)
    folder: str  # top-level folder under the output directory
    images: list[ImageSpec] = field(default_factory=list)
    extra_files: dict[str, Callable[[Path], None]] = field(default_factory=dict)  # relpath -> writer

    def add(self, path: str, person: tuple, camera: int, kind: str = "person") -> None:
        self.images.append(ImageSpec(path, self.name, person, camera, len(self.images), kind))


def _count(i: int, bounds: tuple[int, int]) -> int:
    """A count in [lo, hi] that depends on the identity's position only (not on the seed)."""
    lo, hi = bounds
    return lo + i % (hi - lo + 1)


def _cameras_of(i: int, num_cameras: int, k: int, rng: np.random.Generator) -> list[int]:
    """k distinct cameras of identity i; camera i % num_cameras always among them (coverage)."""
    first = i % num_cameras
    others = [c for c in range(num_cameras) if c != first]
    return [first, *(int(c) for c in rng.choice(others, size=k - 1, replace=False))]


def _market_like(
    name: str, base: str, size: MarketLikeSize, seed: int, num_cameras: int, file_name: Callable[[int, int, int], str]
) -> DatasetPlan:
    """Train, query and gallery folders under ``base``; ``file_name(pid, cam0, n)`` with n unique."""
    plan = DatasetPlan(name, base.split("/")[0])
    rng = derive_rng(seed, name, _PLAN)
    pids = rng.permutation(np.arange(1, size.train_ids + size.test_ids + 1))
    train_pids, test_pids = sorted(pids[: size.train_ids]), sorted(pids[size.train_ids :])

    def add(subset: str, pid: int, cam: int, person: tuple, kind: str = "person") -> None:
        plan.add(f"{base}/{subset}/{file_name(pid, cam, len(plan.images))}", person, cam, kind)

    for i, pid in enumerate(train_pids):
        cams = _cameras_of(i, num_cameras, size.cameras_per_id, rng)
        for j in range(_count(i, size.train_per_id)):
            cam = cams[j % len(cams)]
            add("bounding_box_train", pid, cam, ("id", int(pid)))
    for i, pid in enumerate(test_pids):
        cams = _cameras_of(i, num_cameras, size.cameras_per_id, rng)
        for j in range(_count(i, size.query_per_id)):
            cam = cams[j % len(cams)]
            add("query", pid, cam, ("id", int(pid)))
        # Starting at the second camera guarantees each query a match in another camera.
        for j in range(_count(i, size.gallery_per_id)):
            cam = cams[(j + 1) % len(cams)]
            add("bounding_box_test", pid, cam, ("id", int(pid)))
    for pid, number in ((0, size.distractors), (-1, size.junk)):
        for j in range(number):
            cam = j % num_cameras
            add("bounding_box_test", pid, cam, ("bad", pid, j), "fragment")
    return plan


def plan_market1501(size: ScaleSize, seed: int) -> DatasetPlan:
    def name(pid: int, cam: int, n: int) -> str:  # 0002_c1s1_000451_03.jpg; junk is -1_c1s1_...
        pid_text = "-1" if pid < 0 else f"{pid:04d}"
        return f"{pid_text}_c{cam + 1}s{1 + n % 6}_{n:06d}_{n % 7:02d}.jpg"

    return _market_like("market1501", "Market-1501-v15.09.15", size.market1501, seed, 6, name)


def plan_msmt17(size: ScaleSize, seed: int) -> DatasetPlan:
    def name(pid: int, cam: int, n: int) -> str:  # 0012_c15_00045.jpg
        return f"{pid:04d}_c{cam + 1}_{n:05d}.jpg"

    return _market_like("msmt17", "MSMT17", size.msmt17, seed, 15, name)


def plan_cuhk03(size: ScaleSize, seed: int) -> DatasetPlan:
    def name(pid: int, cam: int, n: int) -> str:  # 0001_c1_1.png
        return f"{pid:04d}_c{cam + 1}_{n}.png"

    return _market_like("cuhk03", "cuhk03-np/detected", size.cuhk03, seed, 2, name)


def plan_cuhk02(size: ScaleSize, seed: int) -> DatasetPlan:
    """cuhk02/Dataset/P1..P5/cam1|cam2/PPPP_NN.png; numbering restarts in each camera pair."""
    plan = DatasetPlan("cuhk02dg", "cuhk02")
    for k, (pair, ids) in enumerate(zip(CUHK02_PAIRS, size.cuhk02_pairs)):
        for pid in range(1, ids + 1):
            for cam in (1, 2):
                for j in range(2):
                    plan.add(
                        f"cuhk02/Dataset/{pair}/cam{cam}/{pid:04d}_{(cam - 1) * 2 + j + 1:02d}.png",
                        (pair, pid),
                        2 * k + cam - 1,
                    )
    return plan


def plan_cuhksysu(size: ScaleSize, seed: int) -> DatasetPlan:
    plan = DatasetPlan("cuhksysu", "CUHK-SYSU")
    ids, per_id = size.cuhksysu
    n = 0
    for i in range(ids):
        for j in range(_count(i, per_id)):
            cam = (i + j) % 2  # cameras 0 and 1, used as is by the parser
            plan.add(f"CUHK-SYSU/bounding_box_train/{i + 1:05d}_c{cam}_{n:06d}.jpg", ("id", i + 1), cam)
            n += 1
    return plan


def plan_grid(size: ScaleSize, seed: int) -> DatasetPlan:
    """underground_reid/{probe,gallery}/IIII_C_....jpeg plus features_and_partitions.mat."""
    plan = DatasetPlan("grid", "underground_reid")
    ids, distractors = size.grid
    rng = derive_rng(seed, "grid", _PLAN)

    def name(index: int, cam: int) -> str:  # 0001_1_25004_107_32_106_221.jpeg
        frame, x, y = rng.integers(10000, 99999), rng.integers(0, 600), rng.integers(0, 200)
        return f"{index:04d}_{cam + 1}_{frame}_{x}_{y}_{rng.integers(40, 120)}_{rng.integers(100, 260)}.jpeg"

    for index in range(1, ids + 1):
        probe_cam = (index - 1) % 8
        gallery_cam = (probe_cam + 1 + int(rng.integers(7))) % 8
        plan.add(f"underground_reid/probe/{name(index, probe_cam)}", ("id", index), probe_cam)
        plan.add(f"underground_reid/gallery/{name(index, gallery_cam)}", ("id", index), gallery_cam)
    for j in range(distractors):  # index 0: people seen only by the gallery cameras
        cam = j % 8
        plan.add(f"underground_reid/gallery/{name(0, cam)}", ("distractor", j), cam)
    train_sets = [np.sort(rng.choice(np.arange(1, ids + 1), size=ids // 2, replace=False)) for _ in range(GRID_SPLITS)]
    plan.extra_files["underground_reid/features_and_partitions.mat"] = lambda path: write_grid_partitions(
        path, train_sets, ids
    )
    return plan


def write_grid_partitions(path: Path, train_sets: list[np.ndarray], ids: int) -> None:
    """GRID's .mat: ``trainIdxAll`` is a 1x10 cell of 1x1 structs whose third field holds the
    split's training person indices, so ``loadmat(...)["trainIdxAll"][0][k][0][0][2][0]`` is
    split k's index list (the access path of the reference parser)."""
    cells = np.empty((1, len(train_sets)), dtype=object)
    fields = [("idxProbe", object), ("idxGallery", object), ("idxTrain", object)]
    for k, train in enumerate(train_sets):
        test = np.setdiff1d(np.arange(1, ids + 1), train)
        record = np.empty((1, 1), dtype=fields)
        record[0, 0] = (
            test.reshape(1, -1).astype(np.float64),
            test.reshape(1, -1).astype(np.float64),
            train.reshape(1, -1).astype(np.float64),
        )
        cells[0, k] = record
    with atomic_open(path, "wb") as handle:
        scipy.io.savemat(handle, {"trainIdxAll": cells})


def plan_ilids(size: ScaleSize, seed: int) -> DatasetPlan:
    """QMUL-iLIDS/i-LIDS_Pedestrian/Persons/PPPPSSS.jpg; 4 images per person on average."""
    plan = DatasetPlan("ilids", "QMUL-iLIDS")
    for i in range(size.ilids):
        spread = (i // 2) % 3  # pairs of identities (4+s, 4-s): the mean stays exactly 4
        count = 4 if (i == size.ilids - 1 and i % 2 == 0) else 4 + (spread if i % 2 == 0 else -spread)
        for seq in range(1, count + 1):
            plan.add(f"QMUL-iLIDS/i-LIDS_Pedestrian/Persons/{i + 1:04d}{seq:03d}.jpg", ("id", i + 1), (i + seq) % 4)
    return plan


def plan_prid(size: ScaleSize, seed: int) -> DatasetPlan:
    """prid_2011/single_shot/cam_a|cam_b/person_XXXX.png; persons 1..shared are in both cameras,
    higher numbers are different people in each camera (cam_b ones are gallery distractors)."""
    plan = DatasetPlan("prid", "prid_2011")
    shared, in_a, in_b = size.prid
    for cam, total in ((0, in_a), (1, in_b)):
        folder = "cam_a" if cam == 0 else "cam_b"
        for number in range(1, total + 1):
            person = ("id", number) if number <= shared else (folder, number)
            plan.add(f"prid_2011/single_shot/{folder}/person_{number:04d}.png", person, cam)
    return plan


def plan_viper(size: ScaleSize, seed: int) -> DatasetPlan:
    """VIPeR/cam_a|cam_b/NNN_ANGLE.bmp: the i-th sorted files of both cameras are one person."""
    plan = DatasetPlan("viper", "VIPeR")
    rng = derive_rng(seed, "viper", _PLAN)
    for cam, folder in enumerate(("cam_a", "cam_b")):
        for i in range(size.viper):
            angle = int(rng.choice([0, 45, 90, 135, 180]))
            plan.add(f"VIPeR/{folder}/{i:03d}_{angle}.bmp", ("id", i), cam)
    return plan


PLANNERS: dict[str, Callable[[ScaleSize, int], DatasetPlan]] = {
    "market1501": plan_market1501,
    "msmt17": plan_msmt17,
    "cuhk03": plan_cuhk03,
    "cuhk02dg": plan_cuhk02,
    "cuhksysu": plan_cuhksysu,
    "grid": plan_grid,
    "ilids": plan_ilids,
    "prid": plan_prid,
    "viper": plan_viper,
}


def scale_size(scale: str) -> ScaleSize:
    if scale not in SCALES:
        raise ConfigError(
            f"unknown synthetic scale {scale!r} (data.synth_scale, bau synth --scale, or the "
            f"'scale' of {SYNTHETIC_MARKER}); choose one of {', '.join(SCALES)}"
        )
    return SCALES[scale]


def build_plans(scale: str, seed: int) -> list[DatasetPlan]:
    """The plans of all nine datasets, in a fixed order."""
    size = scale_size(scale)
    return [planner(size, seed) for planner in PLANNERS.values()]
