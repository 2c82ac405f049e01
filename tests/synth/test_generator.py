"""The output folder: nine datasets in their real formats, the marker, no leftovers."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.io
from PIL import Image

from bau import __version__
from bau.synth import MARKER, expected_counts
from bau.synth.layouts import SCALES, build_plans, scale_size

FORMATS = {
    "Market-1501-v15.09.15": "JPEG",
    "MSMT17": "JPEG",
    "cuhk03-np": "PNG",
    "cuhk02": "PNG",
    "CUHK-SYSU": "JPEG",
    "underground_reid": "JPEG",
    "QMUL-iLIDS": "JPEG",
    "prid_2011": "PNG",
    "VIPeR": "BMP",
}


def test_marker_and_folders(tiny_root):
    root, counts = tiny_root
    expected = {name: dataclasses.asdict(stats) for name, stats in expected_counts("tiny").items()}
    marker = {
        "scale": "tiny",
        "seed": 1,
        "bau_version": __version__,
        "prid_shared_ids": scale_size("tiny").prid[0],
        "expected_counts": expected,
    }
    assert json.loads((root / MARKER).read_text()) == marker
    assert sorted(p.name for p in root.iterdir()) == sorted([*FORMATS, MARKER])
    assert sum(counts.values()) == sum(len(p.images) for p in build_plans("tiny", 1))


def test_every_dataset_in_its_real_file_format(tiny_root):
    root, _ = tiny_root
    for plan in build_plans("tiny", 1):
        for spec in plan.images[:: max(1, len(plan.images) // 15)]:
            with Image.open(root / spec.path) as image:
                assert image.format == FORMATS[plan.folder], spec.path
                assert image.mode == "RGB"


def test_grid_partitions_mat_has_the_reference_structure(tiny_root):
    root, _ = tiny_root
    ids = scale_size("tiny").grid[0]
    cells = scipy.io.loadmat(root / "underground_reid" / "features_and_partitions.mat")["trainIdxAll"][0]
    assert len(cells) == 10
    splits = [cells[k][0][0][2][0] for k in range(10)]  # the reference parser's access path
    for train in splits:
        assert len(train) == ids // 2
        assert np.all(np.diff(train) > 0) and train.min() >= 1 and train.max() <= ids
    assert len({tuple(s) for s in splits}) == 10


def test_unknown_scale_is_rejected():
    from bau.errors import ConfigError

    with pytest.raises(ConfigError, match="'huge'.*choose one of tiny, cpu, small, medium"):
        build_plans("huge", 1)
    assert list(SCALES) == ["tiny", "cpu", "small", "medium"]


def test_medium_is_thousands_of_images_per_large_dataset():
    plans = {p.name: len(p.images) for p in build_plans("medium", 1)}
    assert all(plans[name] >= 3000 for name in ("market1501", "msmt17", "cuhk03", "cuhksysu"))
    tiny = {p.name: len(p.images) for p in build_plans("tiny", 1)}
    assert all(200 <= tiny[name] <= 1500 for name in ("market1501", "msmt17", "cuhk03", "cuhksysu"))


def test_refuses_to_overwrite_folders_it_did_not_write(tmp_path):
    from bau.errors import DatasetError
    from bau.synth import generate

    real = tmp_path / "Market-1501-v15.09.15" / "query"
    real.mkdir(parents=True)
    (real / "0001_c1s1_000001_00.jpg").write_bytes(b"real data")
    with pytest.raises(DatasetError, match="Market-1501-v15.09.15 but no bau_synthetic.json"):
        generate(tmp_path, "tiny", 1, workers=1)
    assert (real / "0001_c1s1_000001_00.jpg").read_bytes() == b"real data"


def test_regenerating_replaces_its_own_folders(tmp_path, monkeypatch):
    """A second run over a synthetic root replaces the folders (here with a tiny stand-in plan)."""
    from bau.synth import generator
    from bau.synth.layouts import DatasetPlan

    root = tmp_path / "data"
    plan = DatasetPlan("viper", "VIPeR")
    plan.add("VIPeR/cam_a/000_0.bmp", ("id", 0), 0)
    monkeypatch.setattr(generator, "build_plans", lambda scale, seed: [plan])
    generator.generate(root, "tiny", 1, workers=1)
    (root / "VIPeR" / "stale.bmp").write_bytes(b"old")
    generator.generate(root, "tiny", 2, workers=1)
    assert sorted(p.name for p in (root / "VIPeR").rglob("*.bmp")) == ["000_0.bmp"]
    assert json.loads((root / MARKER).read_text())["seed"] == 2
    assert not (root / ".bau-synth-staging").exists()
