"""RandAugment as the reference uses it (docs/reference.md §2.4): an ildoonet-style op list, not torchvision's.

Each call applies ``n`` ops drawn uniformly *with replacement* from the 16 ops of
:data:`AUGMENT_LIST`, at one fixed magnitude ``m`` on a 0-30 scale. The reference runs it on the
original-resolution PIL image, before the resize, so translations are fractions of the original
size. Every op is a torchvision functional op on PIL images (which call PIL exactly as the
reference's hand-written ops do); SolarizeAdd, which torchvision lacks, is a PIL lookup table.

Randomness (op choice, random signs) comes from torch's global generator, so DataLoader worker
seeding makes it reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

#: Magnitudes are given on a 0..MAX_MAGNITUDE scale (the reference's m = 10 of 30).
MAX_MAGNITUDE = 30

Op = Callable[[Image.Image, float], Image.Image]


def random_sign(v: float) -> float:
    """``-v`` with probability 0.5 (the reference negates when ``random() > 0.5``)."""
    return -v if torch.rand(()).item() > 0.5 else v


def _affine(
    img: Image.Image, translate: tuple[float, float] = (0.0, 0.0), shear: tuple[float, float] = (0.0, 0.0)
) -> Image.Image:
    # center (0, 0) makes torchvision hand PIL the coefficients the reference writes by hand:
    # translate (-tx, -ty) -> (1, 0, tx, 0, 1, ty); shear atan(s) in degrees -> (1, s, 0, 0, 1, 0).
    return F.affine(
        img,
        angle=0.0,
        translate=[-translate[0], -translate[1]],
        scale=1.0,
        shear=[math.degrees(math.atan(shear[0])), math.degrees(math.atan(shear[1]))],
        interpolation=InterpolationMode.NEAREST,
        fill=0,
        center=[0.0, 0.0],
    )


def identity(img: Image.Image, v: float) -> Image.Image:
    return img


def translate_x(img: Image.Image, v: float) -> Image.Image:
    """Sample input x + v*width (random sign; fractional shifts sampled nearest), black outside."""
    return _affine(img, translate=(random_sign(v) * img.width, 0.0))


def translate_y(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, translate=(0.0, random_sign(v) * img.height))


def shear_x(img: Image.Image, v: float) -> Image.Image:
    """PIL affine (1, ±v, 0, 0, 1, 0): sheared about the top-left corner, not recentred."""
    return _affine(img, shear=(random_sign(v), 0.0))


def shear_y(img: Image.Image, v: float) -> Image.Image:
    """PIL affine (1, 0, 0, ±v, 1, 0)."""
    return _affine(img, shear=(0.0, random_sign(v)))


def rotate(img: Image.Image, v: float) -> Image.Image:
    """±v degrees about the centre, nearest, same size, black corners."""
    return F.rotate(img, random_sign(v), interpolation=InterpolationMode.NEAREST, expand=False, fill=0)


def auto_contrast(img: Image.Image, v: float) -> Image.Image:
    return F.autocontrast(img)


def equalize(img: Image.Image, v: float) -> Image.Image:
    return F.equalize(img)


def posterize(img: Image.Image, v: float) -> Image.Image:
    return F.posterize(img, int(v))


def color(img: Image.Image, v: float) -> Image.Image:
    return F.adjust_saturation(img, v)  # PIL ImageEnhance.Color


def contrast(img: Image.Image, v: float) -> Image.Image:
    return F.adjust_contrast(img, v)


def brightness(img: Image.Image, v: float) -> Image.Image:
    return F.adjust_brightness(img, v)


def sharpness(img: Image.Image, v: float) -> Image.Image:
    return F.adjust_sharpness(img, v)


def invert(img: Image.Image, v: float) -> Image.Image:
    return F.invert(img)


def solarize(img: Image.Image, v: float) -> Image.Image:
    """Invert pixels >= v (v = 85.33 at m = 10, so values from 86 up)."""
    return F.solarize(img, v)


def solarize_add(img: Image.Image, v: float, threshold: float = 128) -> Image.Image:
    """Add v, clip to [0, 255], truncate to uint8, then solarize at ``threshold``.

    Adding a float to an 8-bit value and truncating is a fixed per-value map, so a lookup table
    reproduces the reference's float arithmetic exactly.
    """
    lut = np.clip(np.arange(256) + v, 0, 255).astype(np.uint8).tolist()
    return F.solarize(img.point(lut * len(img.getbands())), threshold)


#: (op, min, max): the reference's 16 ops and magnitude ranges.
AUGMENT_LIST: tuple[tuple[Op, float, float], ...] = (
    (identity, 0, 1),
    (translate_x, 0, 0.45),
    (translate_y, 0, 0.45),
    (shear_x, 0, 0.3),
    (shear_y, 0, 0.3),
    (rotate, 0, 30),
    (auto_contrast, 0, 1),
    (equalize, 0, 1),
    (posterize, 2, 2),
    (color, 0.1, 1.9),
    (contrast, 0.1, 1.9),
    (brightness, 0.1, 1.9),
    (sharpness, 0.1, 1.9),
    (invert, 0, 1),
    (solarize, 0, 256),
    (solarize_add, 0, 110),
)


def magnitude_value(m: float, low: float, high: float) -> float:
    """The op value at magnitude ``m``, computed as the reference does (same float operations)."""
    return (float(m) / MAX_MAGNITUDE) * float(high - low) + low


class RandAugment:
    """Apply ``n`` ops drawn with replacement from :data:`AUGMENT_LIST` at magnitude ``m``."""

    def __init__(self, n: int = 2, m: float = 10) -> None:
        if not 0 <= m <= MAX_MAGNITUDE:
            raise ValueError(f"RandAugment magnitude m={m} is outside [0, {MAX_MAGNITUDE}]")
        self.n = n
        self.m = m
        self.ops = [(op, magnitude_value(m, low, high)) for op, low, high in AUGMENT_LIST]

    def __call__(self, img: Image.Image) -> Image.Image:
        for index in torch.randint(len(self.ops), (self.n,)).tolist():
            op, value = self.ops[index]
            img = op(img, value)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, m={self.m})"
