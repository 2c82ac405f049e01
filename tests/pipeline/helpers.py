"""Shared helpers of the pipeline tests: tiny images and the reference's ops written directly in PIL/numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def textured_image(height: int, width: int, seed: int = 0, low: int = 0, high: int = 256) -> Image.Image:
    """Gradients plus noise in [low, high): every op changes it, none saturates everything."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) * 127 / (height + width)], -1)
    noisy = base * (high - low) / 256 + low + rng.integers(-20, 21, size=base.shape)
    return Image.fromarray(np.clip(noisy, low, high - 1).astype(np.uint8))


def write_images(folder: Path, count: int, size: tuple[int, int] = (24, 12)) -> list[str]:
    """``count`` small JPEG files with distinct content; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img_{i:04d}.jpg"
        textured_image(*size, seed=i).save(path, quality=95)
        paths.append(str(path))
    return paths


# --- the reference's RandAugment ops (docs/reference.md §2.4), sign given explicitly ----------------------


def ref_translate_x(img: Image.Image, v: float) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, (1, 0, v * img.size[0], 0, 1, 0))


def ref_translate_y(img: Image.Image, v: float) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, v * img.size[1]))


def ref_shear_x(img: Image.Image, v: float) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, (1, v, 0, 0, 1, 0))


def ref_shear_y(img: Image.Image, v: float) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, (1, 0, 0, v, 1, 0))


def ref_rotate(img: Image.Image, v: float) -> Image.Image:
    return img.rotate(v)


def ref_solarize_add(img: Image.Image, addition: float, threshold: float = 128) -> Image.Image:
    arr = np.array(img).astype(np.int64) + addition
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    return ImageOps.solarize(Image.fromarray(arr), threshold)


REFERENCE_OPS = {
    "identity": lambda img, v: img,
    "translate_x": ref_translate_x,
    "translate_y": ref_translate_y,
    "shear_x": ref_shear_x,
    "shear_y": ref_shear_y,
    "rotate": ref_rotate,
    "auto_contrast": lambda img, v: ImageOps.autocontrast(img),
    "equalize": lambda img, v: ImageOps.equalize(img),
    "posterize": lambda img, v: ImageOps.posterize(img, int(v)),
    "color": lambda img, v: ImageEnhance.Color(img).enhance(v),
    "contrast": lambda img, v: ImageEnhance.Contrast(img).enhance(v),
    "brightness": lambda img, v: ImageEnhance.Brightness(img).enhance(v),
    "sharpness": lambda img, v: ImageEnhance.Sharpness(img).enhance(v),
    "invert": lambda img, v: ImageOps.invert(img),
    "solarize": lambda img, v: ImageOps.solarize(img, v),
    "solarize_add": ref_solarize_add,
}
