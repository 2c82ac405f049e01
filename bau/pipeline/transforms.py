"""Image transforms of training (weak and strong views) and testing (docs/reference.md §2.1-2.6).

Every transform maps a PIL RGB image to a normalised float32 tensor C x H x W. All their
randomness comes from torch's global generator (torchvision's transforms, RandAugment,
RandomErasing), so DataLoader worker seeding makes augmentation reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torchvision.transforms.v2 as T
from PIL import Image

from bau.errors import ConfigError
from bau.pipeline.erasing import IMAGENET_MEAN, RandomErasing
from bau.pipeline.randaugment import RandAugment

IMAGENET_STD = (0.229, 0.224, 0.225)
#: Padding (black) before the random crop of both training views.
PAD = 10
#: RandAugment of the strong view: 2 ops at magnitude 10 of 30.
RANDAUGMENT_N, RANDAUGMENT_M = 2, 10
#: ColorJitter ranges of the strong view (each factor uniform in its range).
COLOR_JITTER = {"brightness": (0.5, 2.0), "contrast": (0.5, 2.0), "saturation": (0.5, 2.0), "hue": (-0.1, 0.1)}

AUGMENT_KEYS = ("prob", "randaugment", "colorjitter", "erasing")

Transform = Callable[[Image.Image], torch.Tensor]


def _resize(height: int, width: int) -> T.Transform:
    return T.Resize((height, width), interpolation=T.InterpolationMode.BICUBIC)


def _to_normalised_tensor() -> list[Callable]:
    # PILToTensor gives a plain tensor (not a tv_tensors.Image) that then stays plain.
    return [T.PILToTensor(), T.ToDtype(torch.float32, scale=True), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


def _flip_pad_crop(height: int, width: int) -> list[Callable]:
    return [T.RandomHorizontalFlip(0.5), T.Pad(PAD, fill=0), T.RandomCrop((height, width))]


def build_test_transform(height: int, width: int) -> Transform:
    """Resize (bicubic), to tensor, normalise: no flip, no crop (docs/reference.md §2.6)."""
    return T.Compose([_resize(height, width), *_to_normalised_tensor()])


def build_weak_transform(height: int, width: int) -> Transform:
    """Resize, flip, pad 10, random crop, to tensor, normalise (docs/reference.md §2.2)."""
    return T.Compose([_resize(height, width), *_flip_pad_crop(height, width), *_to_normalised_tensor()])


def build_strong_transform(
    height: int,
    width: int,
    *,
    prob: float = 0.5,
    randaugment: bool = True,
    colorjitter: bool = True,
    erasing: bool = True,
) -> Transform:
    """The weak view plus RandAugment, ColorJitter and RandomErasing, each applied with
    probability ``prob`` and each switchable (docs/reference.md §2.3, exact order).

    RandAugment comes first, on the original-resolution image: its translations are fractions of
    the original size, as in the reference.
    """
    steps: list[Callable] = []
    if randaugment:
        steps.append(T.RandomApply([RandAugment(RANDAUGMENT_N, RANDAUGMENT_M)], p=prob))
    steps += [_resize(height, width), *_flip_pad_crop(height, width)]
    if colorjitter:
        steps.append(T.RandomApply([T.ColorJitter(**COLOR_JITTER)], p=prob))
    steps += _to_normalised_tensor()
    if erasing:
        steps.append(RandomErasing(probability=prob, mean=IMAGENET_MEAN))
    return T.Compose(steps)


def build_train_transforms(augment_cfg: Mapping[str, Any], height: int, width: int) -> tuple[Transform, Transform]:
    """``(weak, strong)`` from the run config's ``augment`` section (keys :data:`AUGMENT_KEYS`)."""
    missing = [key for key in AUGMENT_KEYS if key not in augment_cfg]
    if missing:
        raise ConfigError(
            f"augment config lacks {', '.join('augment.' + key for key in missing)}; "
            "pass a run config resolved by bau.config.validate_run (it fills the defaults)"
        )
    prob = float(augment_cfg["prob"])
    if not 0.0 <= prob <= 1.0:
        raise ConfigError(f"augment.prob={prob} is not a probability; use a value in [0, 1]")
    strong = build_strong_transform(
        height,
        width,
        prob=prob,
        randaugment=bool(augment_cfg["randaugment"]),
        colorjitter=bool(augment_cfg["colorjitter"]),
        erasing=bool(augment_cfg["erasing"]),
    )
    return build_weak_transform(height, width), strong


def train_views(cfg: Mapping[str, Any]) -> tuple[Transform, Transform | None]:
    """``(first view, second view or None)`` of a training image for a run config: the weak
    and the strong view; without ``method.strong_view`` (the baseline) one view, which
    ``method.plain_augment`` (the paper's Fig. 1 "plain augmentation") augments as the strong
    view is, each augmentation with probability ``augment.prob``."""
    model, method = cfg["model"], cfg["method"]
    weak, strong = build_train_transforms(cfg["augment"], model["height"], model["width"])
    if method["strong_view"]:
        return weak, strong
    return (strong if method.get("plain_augment") else weak), None
