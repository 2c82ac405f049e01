"""RandAugment (docs/reference.md §2.4): each torchvision-built op against the reference's PIL/numpy op."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import bau.pipeline.randaugment as ra
from tests.pipeline.helpers import REFERENCE_OPS, textured_image

OP_NAMES = [op.__name__ for op, _, _ in ra.AUGMENT_LIST]
VALUES = {op.__name__: ra.magnitude_value(10, low, high) for op, low, high in ra.AUGMENT_LIST}
SIGNED = {"translate_x", "translate_y", "shear_x", "shear_y", "rotate"}
# Odd sizes, a Market-1501 crop (128 x 64) and a tall CUHK-like one; (height, width).
SIZES = [(37, 23), (128, 64), (160, 60), (20, 40)]


def test_op_list_is_the_reference_one() -> None:
    assert OP_NAMES == [
        "identity", "translate_x", "translate_y", "shear_x", "shear_y", "rotate", "auto_contrast", "equalize",
        "posterize", "color", "contrast", "brightness", "sharpness", "invert", "solarize", "solarize_add",
    ]  # fmt: skip


def test_values_at_magnitude_10() -> None:
    expected = {
        "translate_x": 0.15, "translate_y": 0.15, "shear_x": 0.1, "shear_y": 0.1, "rotate": 10.0,
        "posterize": 2.0, "color": 0.7, "contrast": 0.7, "brightness": 0.7, "sharpness": 0.7,
        "solarize": 256 / 3, "solarize_add": 110 / 3,
    }  # fmt: skip
    for name, value in expected.items():
        assert VALUES[name] == pytest.approx(value, rel=1e-12), name
    # Bit-identical to the reference's expression (m / 30) * (max - min) + min.
    assert VALUES["solarize"] == (10.0 / 30) * 256.0 + 0
    assert VALUES["translate_x"] == (10.0 / 30) * 0.45 + 0


@pytest.fixture
def fixed_sign(monkeypatch: pytest.MonkeyPatch):
    def use(sign: int) -> None:
        monkeypatch.setattr(ra, "random_sign", lambda v: sign * v)

    return use


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "sign"), [(n, 1) for n in OP_NAMES] + [(n, -1) for n in OP_NAMES if n in SIGNED])
def test_op_equals_reference(name: str, sign: int, size: tuple[int, int], fixed_sign) -> None:
    # Pixel-exact. The shears go through torchvision's shear angle: PIL receives
    # tan(radians(degrees(atan(0.1)))), within 2 ulp of 0.1; x_in = x + 0.5 + 0.1 (y + 0.5) has a
    # fractional part at least 0.05 away from an integer, so nearest sampling cannot flip.
    fixed_sign(sign)
    img = textured_image(*size, seed=size[0])
    value = VALUES[name]
    ours = getattr(ra, name)(img, value)
    reference = REFERENCE_OPS[name](img, sign * value if name in SIGNED else value)
    assert ours.size == img.size and ours.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(reference))


def test_ops_change_the_image() -> None:
    # Guards the parity test against ops that would all be no-ops on the test image.
    img = textured_image(37, 23, seed=3, low=40, high=200)
    torch.manual_seed(0)
    for name in OP_NAMES[1:]:
        assert not np.array_equal(np.asarray(getattr(ra, name)(img, VALUES[name])), np.asarray(img)), name


def test_translate_x_shifts_by_fraction_of_original_width(fixed_sign) -> None:
    fixed_sign(1)
    img = textured_image(10, 20)
    arr, out = np.asarray(img), np.asarray(ra.translate_x(img, VALUES["translate_x"]))
    # 0.15 * 20 = 3 px: content moves 3 px left, black enters on the right.
    np.testing.assert_array_equal(out[:, :-3], arr[:, 3:])
    assert not out[:, -3:].any()


def test_shear_x_is_not_recentred(fixed_sign) -> None:
    fixed_sign(1)
    img = textured_image(30, 12)
    arr, out = np.asarray(img), np.asarray(ra.shear_x(img, VALUES["shear_x"]))
    expected = np.zeros_like(arr)
    for y in range(30):
        for x in range(12):
            src = int(np.floor(x + 0.5 + 0.1 * (y + 0.5)))  # nearest, sheared about the origin
            if src < 12:
                expected[y, x] = arr[y, src]
    np.testing.assert_array_equal(out, expected)


def test_rotate_keeps_size_and_fills_black(fixed_sign) -> None:
    fixed_sign(-1)
    img = textured_image(40, 20, low=50, high=256)
    out = np.asarray(ra.rotate(img, VALUES["rotate"]))
    assert out.shape == (40, 20, 3)
    assert (out[0, 0] == 0).all() and (out[-1, -1] == 0).all()  # corners rotated out


def test_pixel_value_ops_against_numpy() -> None:
    img = textured_image(16, 16, seed=5)
    arr = np.asarray(img).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(ra.posterize(img, VALUES["posterize"])), arr & 0b11000000)
    np.testing.assert_array_equal(np.asarray(ra.invert(img, 0)), 255 - arr)
    # Solarize at 85.33: 85 is kept, 86 is inverted.
    np.testing.assert_array_equal(np.asarray(ra.solarize(img, VALUES["solarize"])), np.where(arr >= 86, 255 - arr, arr))
    # SolarizeAdd: +36.67 truncated = +36, clipped at 255, then solarize at 128.
    added = np.minimum(arr + 36, 255)
    np.testing.assert_array_equal(
        np.asarray(ra.solarize_add(img, VALUES["solarize_add"])), np.where(added >= 128, 255 - added, added)
    )


def test_random_sign_uses_torch_generator() -> None:
    for seed in range(20):
        torch.manual_seed(seed)
        negative = bool(torch.rand(()) > 0.5)
        torch.manual_seed(seed)
        random.seed(seed + 100)
        assert (ra.random_sign(1.0) == -1.0) == negative


def test_randaugment_draws_two_ops_with_replacement_from_torch() -> None:
    aug = ra.RandAugment(2, 10)
    calls: list[int] = []
    aug.ops = [((lambda img, v, i=i: calls.append(i) or img), v) for i, (_, v) in enumerate(aug.ops)]
    img = textured_image(8, 8)
    pairs = []
    for seed in range(300):
        torch.manual_seed(seed)
        expected = torch.randint(16, (2,)).tolist()
        torch.manual_seed(seed)
        calls.clear()
        aug(img)
        assert calls == expected
        pairs.append(tuple(calls))
    assert {i for pair in pairs for i in pair} == set(range(16))  # uniform over all 16 ops
    assert any(a == b for a, b in pairs)  # with replacement


def test_randaugment_ignores_python_and_numpy_generators() -> None:
    aug = ra.RandAugment(2, 10)
    img = textured_image(32, 16, seed=1)
    outputs = []
    for other in (1, 2):
        random.seed(other)
        np.random.seed(other)
        torch.manual_seed(7)
        outputs.append([np.asarray(aug(img)) for _ in range(20)])
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)


def test_magnitude_out_of_range() -> None:
    with pytest.raises(ValueError, match="magnitude"):
        ra.RandAugment(2, 31)
