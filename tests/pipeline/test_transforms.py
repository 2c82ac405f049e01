"""Weak, strong and test transforms (docs/reference.md §2.1-2.3, 2.6) and their config switches."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import torch
from PIL import Image

from bau.errors import ConfigError
from bau.pipeline.erasing import RandomErasing
from bau.pipeline.randaugment import RandAugment
from bau.pipeline.transforms import build_test_transform, build_train_transforms, torchvision_pipeline
from tests.pipeline.helpers import textured_image

H, W = 32, 16
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
ALL_ON = {"prob": 0.5, "randaugment": True, "colorjitter": True, "erasing": True}
ALL_OFF = {"prob": 0.5, "randaugment": False, "colorjitter": False, "erasing": False}


def normalised(img: Image.Image) -> np.ndarray:
    """ToTensor + Normalize written out: CHW float32."""
    arr = np.asarray(img, dtype=np.float32) / 255
    return ((arr - MEAN) / STD).transpose(2, 0, 1)


@pytest.fixture
def img() -> Image.Image:
    return textured_image(48, 20, seed=2)  # not the target size: the resize matters


def test_test_transform(img: Image.Image) -> None:
    out = build_test_transform(H, W)(img)
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and out.shape == (3, H, W)
    expected = normalised(img.resize((W, H), Image.BICUBIC))
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)


def test_weak_view_is_a_flip_and_crop_of_the_padded_resize(img: Image.Image) -> None:
    weak, _ = build_train_transforms(ALL_ON, H, W)
    resized = normalised(img.resize((W, H), Image.BICUBIC))
    black = ((0 - MEAN) / STD)[:, None, None]
    seen = set()
    for seed in range(40):
        torch.manual_seed(seed)
        out = weak(img).numpy()
        assert out.shape == (3, H, W)
        matches = []
        for flip in (False, True):
            padded = np.broadcast_to(black, (3, H + 20, W + 20)).copy()
            padded[:, 10 : 10 + H, 10 : 10 + W] = resized[:, :, ::-1] if flip else resized
            crops = np.lib.stride_tricks.sliding_window_view(padded, (H, W), axis=(1, 2))  # 3 x 21 x 21 x H x W
            error = np.abs(crops - out[:, None, None]).max(axis=(0, 3, 4))
            matches += [(flip, top, left) for top, left in zip(*np.nonzero(error < 1e-5))]
        assert matches, f"seed {seed}: not a flip/pad/crop of the resized image"
        seen.add(matches[0])
    assert {flip for flip, _, _ in seen} == {False, True}
    assert len(seen) > 30  # crops vary


def test_strong_view_with_every_augmentation_off_is_the_weak_view(img: Image.Image) -> None:
    weak, strong = build_train_transforms(ALL_OFF, H, W)
    for seed in range(5):
        torch.manual_seed(seed)
        a = weak(img)
        torch.manual_seed(seed)
        assert torch.equal(strong(img), a)


@pytest.mark.parametrize("randaugment", [True, False])
@pytest.mark.parametrize("colorjitter", [True, False])
@pytest.mark.parametrize("erasing", [True, False])
def test_views_equal_the_torchvision_pipeline_bit_for_bit(
    img: Image.Image, randaugment: bool, colorjitter: bool, erasing: bool
) -> None:
    cfg = {"prob": 0.5, "randaugment": randaugment, "colorjitter": colorjitter, "erasing": erasing}
    weak, strong = build_train_transforms(cfg, H, W)
    oracle_weak, oracle_strong = torchvision_pipeline(weak), torchvision_pipeline(strong)
    resized = weak.resize(img)
    for seed in range(30):
        torch.manual_seed(seed)
        expected = oracle_weak(img), oracle_strong(img), torch.rand(1)  # the generator's state after
        for given in (None, resized):  # the shared resize changes nothing
            torch.manual_seed(seed)
            got = weak(img, given), strong(img, given), torch.rand(1)
            for e, g in zip(expected, got):
                assert torch.equal(e, g), f"seed {seed}"


def test_strong_view_parameters() -> None:
    _, strong = build_train_transforms({**ALL_ON, "prob": 0.3}, 256, 128)
    assert (strong.randaugment.n, strong.randaugment.m) == (2, 10)
    assert (strong.height, strong.width, strong.prob) == (256, 128, 0.3)
    jitter = strong.colorjitter
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) == ((0.5, 2.0),) * 3 + ((-0.1, 0.1),)
    assert strong.erasing.probability == 0.3 and strong.erasing.mean == (0.485, 0.456, 0.406)
    assert type(strong.erasing) is RandomErasing


def test_randaugment_runs_before_the_resize(img: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = []
    monkeypatch.setattr(RandAugment, "__call__", lambda self, im: sizes.append(im.size) or im)
    _, strong = build_train_transforms({**ALL_OFF, "prob": 1.0, "randaugment": True}, H, W)
    strong(img)
    assert sizes == [img.size]


def test_erasing_only_writes_raw_means_over_the_weak_view(img: Image.Image) -> None:
    weak, _ = build_train_transforms(ALL_OFF, H, W)
    _, strong = build_train_transforms({**ALL_OFF, "prob": 1.0, "erasing": True}, H, W)
    erased_any = False
    for seed in range(5):
        torch.manual_seed(seed)
        base = weak(img)
        torch.manual_seed(seed)
        out = strong(img)
        changed = (out != base).any(0)
        erased_any |= bool(changed.any())
        for c, value in enumerate((0.485, 0.456, 0.406)):
            assert torch.all(out[c][changed] == torch.tensor(value))
    assert erased_any


@pytest.mark.parametrize("switch", ["colorjitter", "erasing"])
def test_colorjitter_and_erasing_follow_prob(img: Image.Image, switch: str) -> None:
    # Both come after the geometry draws, so with prob 0 the strong view is the weak view and
    # with prob 1 it always differs from it.
    weak, _ = build_train_transforms(ALL_OFF, H, W)
    never = build_train_transforms({**ALL_OFF, "prob": 0.0, switch: True}, H, W)[1]
    always = build_train_transforms({**ALL_OFF, "prob": 1.0, switch: True}, H, W)[1]
    for seed in range(5):
        torch.manual_seed(seed)
        base = weak(img)
        torch.manual_seed(seed)
        assert torch.equal(never(img), base)
        torch.manual_seed(seed)
        assert not torch.equal(always(img), base)


def test_randomness_is_torch_only(img: Image.Image) -> None:
    _, strong = build_train_transforms({**ALL_ON, "prob": 1.0}, H, W)
    outputs = []
    for other in (3, 4):
        random.seed(other)
        np.random.seed(other)
        torch.manual_seed(11)
        outputs.append(torch.stack([strong(img) for _ in range(10)]))
    assert torch.equal(*outputs)
    torch.manual_seed(12)
    assert not torch.equal(torch.stack([strong(img) for _ in range(10)]), outputs[0])


def test_transforms_pickle(img: Image.Image) -> None:
    # DataLoader workers started with spawn/forkserver receive the transforms pickled.
    weak, strong = build_train_transforms(ALL_ON, H, W)
    torch.manual_seed(0)
    a = pickle.loads(pickle.dumps(strong))(img)
    torch.manual_seed(0)
    assert torch.equal(strong(img), a)
    assert repr(pickle.loads(pickle.dumps(weak))) == repr(weak)


def test_missing_key_names_it() -> None:
    with pytest.raises(ConfigError, match=r"augment\.erasing"):
        build_train_transforms({"prob": 0.5, "randaugment": True, "colorjitter": True}, H, W)
    with pytest.raises(ConfigError, match=r"augment\.prob"):
        build_train_transforms({**ALL_ON, "prob": 1.5}, H, W)
