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
import torchvision.transforms.v2.functional as F
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


def build_test_transform(height: int, width: int) -> Transform:
    """Resize (bicubic), to tensor, normalise: no flip, no crop (docs/reference.md §2.6)."""
    return T.Compose([_resize(height, width), *_to_normalised_tensor()])


class TrainView:
    """One training view of a PIL image: [RandAugment] -> resize (bicubic) -> horizontal flip
    -> pad 10 (black) + random crop -> [ColorJitter] -> tensor -> normalise -> [RandomErasing],
    the bracketed steps each applied with probability ``prob`` and each switchable
    (docs/reference.md §2.2-2.3, exact order). With all three off it is the weak view (§2.2),
    with all on the strong view (§2.3).

    It is :func:`torchvision_pipeline` (``Compose([RandomApply([RandAugment], p), Resize,
    RandomHorizontalFlip(0.5), Pad(10), RandomCrop, RandomApply([ColorJitter], p), PILToTensor,
    ToDtype, Normalize, RandomErasing])``) step for step: the same kernels on the same pixels
    and the same draws from torch's global generator in the same order, so the same tensor
    (tests/pipeline/test_transforms.py checks it bit for bit). Written out because at re-ID
    sizes (64x32 in the default run) the v2 classes' per-call input checks cost more than
    their pixel work, and because the resize, which draws nothing, can then be shared: a
    caller passing ``resized`` (the image already resized to ``height x width``) saves it
    whenever RandAugment does not run (always in the weak view).

    RandAugment comes first, on the original-resolution image: its translations are fractions
    of the original size, as in the reference.
    """

    def __init__(
        self,
        height: int,
        width: int,
        *,
        prob: float = 0.5,
        randaugment: bool = False,
        colorjitter: bool = False,
        erasing: bool = False,
    ) -> None:
        self.height, self.width, self.prob = height, width, prob
        self.randaugment = RandAugment(RANDAUGMENT_N, RANDAUGMENT_M) if randaugment else None
        self.colorjitter = T.ColorJitter(**COLOR_JITTER) if colorjitter else None
        self.erasing = RandomErasing(probability=prob, mean=IMAGENET_MEAN) if erasing else None

    def resize(self, img: Image.Image) -> Image.Image:
        return F.resize(img, [self.height, self.width], interpolation=T.InterpolationMode.BICUBIC)

    def _applies(self) -> bool:
        # torchvision's RandomApply draw: skip when rand >= p.
        return bool(torch.rand(1) < self.prob)

    def __call__(self, img: Image.Image, resized: Image.Image | None = None) -> torch.Tensor:
        if self.randaugment is not None and self._applies():
            img = self.resize(self.randaugment(img))
        else:
            img = self.resize(img) if resized is None else resized
        if torch.rand(1) < 0.5:  # RandomHorizontalFlip(0.5)
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        # Pad then RandomCrop: the crop's offsets in the padded image are drawn top first; a
        # PIL crop reaching outside the image fills black, as the zero padding does.
        top = int(torch.randint(0, 2 * PAD + 1, size=()))
        left = int(torch.randint(0, 2 * PAD + 1, size=()))
        img = img.crop((left - PAD, top - PAD, left - PAD + self.width, top - PAD + self.height))
        if self.colorjitter is not None and self._applies():
            img = self.colorjitter(img)
        out = F.normalize_image(
            F.to_dtype_image(F.pil_to_tensor(img), torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD
        )
        return out if self.erasing is None else self.erasing(out)

    def __repr__(self) -> str:
        steps = [name for name in ("randaugment", "colorjitter", "erasing") if getattr(self, name) is not None]
        return f"{type(self).__name__}({self.height}x{self.width}, prob={self.prob}, {'+'.join(steps) or 'weak'})"


def torchvision_pipeline(view: TrainView) -> T.Compose:
    """``view`` as torchvision v2 transform classes in the reference's order: the specification
    :class:`TrainView` is tested against bit for bit, and benchmarked against."""
    steps: list[Callable] = [] if view.randaugment is None else [T.RandomApply([view.randaugment], p=view.prob)]
    steps += [
        _resize(view.height, view.width),
        T.RandomHorizontalFlip(0.5),
        T.Pad(PAD, fill=0),
        T.RandomCrop((view.height, view.width)),
    ]
    if view.colorjitter is not None:
        steps.append(T.RandomApply([view.colorjitter], p=view.prob))
    steps += _to_normalised_tensor()
    if view.erasing is not None:
        steps.append(view.erasing)
    return T.Compose(steps)


def build_train_transforms(augment_cfg: Mapping[str, Any], height: int, width: int) -> tuple[TrainView, TrainView]:
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
    strong = TrainView(
        height,
        width,
        prob=prob,
        randaugment=bool(augment_cfg["randaugment"]),
        colorjitter=bool(augment_cfg["colorjitter"]),
        erasing=bool(augment_cfg["erasing"]),
    )
    return TrainView(height, width), strong


def train_views(cfg: Mapping[str, Any]) -> tuple[TrainView, TrainView | None]:
    """``(first view, second view or None)`` of a training image for a run config: the weak
    and the strong view; without ``method.strong_view`` (the baseline) one view, which
    ``method.plain_augment`` (the paper's Fig. 1 "plain augmentation") augments as the strong
    view is, each augmentation with probability ``augment.prob``."""
    model, method = cfg["model"], cfg["method"]
    weak, strong = build_train_transforms(cfg["augment"], model["height"], model["width"])
    if method["strong_view"]:
        return weak, strong
    return (strong if method.get("plain_augment") else weak), None
