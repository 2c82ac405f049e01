"""Each synthetic dataset has its own domain style: size, sharpness, colour cast, brightness."""

from __future__ import annotations

import numpy as np
import pytest

from tests.synth.helpers import image_features, image_files

FOLDERS = {
    "market1501": "Market-1501-v15.09.15",
    "msmt17": "MSMT17",
    "cuhk03": "cuhk03-np",
    "cuhk02dg": "cuhk02",
    "cuhksysu": "CUHK-SYSU",
    "grid": "underground_reid",
    "ilids": "QMUL-iLIDS",
    "prid": "prid_2011",
    "viper": "VIPeR",
}
R, G, B, SHARP, HEIGHT, ASPECT = range(6)


@pytest.fixture(scope="module")
def features(tiny_root):
    root, _ = tiny_root
    out = {}
    for name, folder in FOLDERS.items():
        files = image_files(root / folder)
        out[name] = np.stack([image_features(p) for p in files[:: max(1, len(files) // 60)]])
    return out


def test_image_sizes_like_the_real_datasets(features):
    fixed = {"market1501": (128, 0.5), "prid": (128, 0.5), "viper": (128, 0.375), "cuhk02dg": (160, 0.375)}
    for name, (height, aspect) in fixed.items():
        assert np.all(features[name][:, HEIGHT] == height), name
        assert np.allclose(features[name][:, ASPECT], aspect, atol=0.01), name
    for name in ("msmt17", "cuhk03", "cuhksysu", "grid", "ilids"):  # detector boxes of many sizes
        assert len(np.unique(features[name][:, HEIGHT])) > 5, name


def test_cuhk03_is_sharp_and_the_low_resolution_datasets_are_not(features):
    sharpness = {name: np.median(f[:, SHARP]) for name, f in features.items()}
    for soft in ("grid", "viper", "prid", "market1501", "cuhk02dg", "ilids"):
        assert sharpness["cuhk03"] > sharpness[soft] + 0.5, (soft, sharpness)


def test_colour_casts_and_brightness_differ(features):
    mean = {name: f[:, :3].mean(0) for name, f in features.items()}
    luminance = {name: m @ np.array([0.299, 0.587, 0.114]) for name, m in mean.items()}
    assert min(luminance, key=luminance.get) == "grid"  # the dark underground station
    red_blue = {name: m[0] / m[2] for name, m in mean.items()}
    assert red_blue["ilids"] > red_blue["msmt17"] + 0.3  # tungsten hall vs cool city cameras
    assert red_blue["cuhk02dg"] > red_blue["cuhk03"] + 0.2
    # Every pair of datasets differs in mean colour.
    names = list(mean)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(mean[a] - mean[b]).max() > 5, (a, b)


def test_prid_cameras_have_different_light(tiny_root):
    root, _ = tiny_root
    cams = {
        c: np.stack([image_features(p)[:3] for p in image_files(root / "prid_2011" / "single_shot" / c)[:40]]).mean(0)
        for c in ("cam_a", "cam_b")
    }
    assert cams["cam_b"][2] / cams["cam_b"][0] > cams["cam_a"][2] / cams["cam_a"][0] + 0.15  # cam_b is bluer


def test_domain_is_predictable_from_simple_image_statistics(features):
    """A nearest-centroid classifier on (mean colour, sharpness, size) tells the nine domains
    apart far above chance (1/9): the styles are distinct domains."""
    names = list(features)
    x = np.concatenate([features[n] for n in names])
    y = np.concatenate([[i] * len(features[n]) for i, n in enumerate(names)])
    z = (x - x.mean(0)) / x.std(0)
    fit = np.arange(len(y)) % 2 == 0
    centroids = np.stack([z[fit & (y == i)].mean(0) for i in range(len(names))])
    predicted = np.argmin(((z[~fit, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == y[~fit]).mean() > 0.6
