"""The reference's RandomErasing (docs/reference.md §2.5), applied to the normalised tensor.

Not torchvision's RandomErasing, which has other defaults (scale up to 0.33, a log-uniform
aspect ratio, fill 0, other rounding). The fill values are the ImageNet *mean* written as raw
numbers into the already normalised tensor, as the reference does (they are not normalised).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)


def _uniform(low: float, high: float) -> float:
    # Python's random.uniform formula, on torch's generator.
    return low + (high - low) * torch.rand((), dtype=torch.float64).item()


class RandomErasing:
    """Erase one random rectangle with probability ``probability`` (up to ``attempts`` tries).

    Area fraction U(sl, sh), aspect ratio U(r1, 1/r1), side lengths rounded with Python's
    ``round``; a rectangle is accepted if strictly smaller than the image in both directions.
    """

    def __init__(
        self,
        probability: float = 0.5,
        sl: float = 0.02,
        sh: float = 0.4,
        r1: float = 0.3,
        mean: Sequence[float] = IMAGENET_MEAN,
        attempts: int = 100,
    ) -> None:
        self.probability = probability
        self.sl = sl
        self.sh = sh
        self.r1 = r1
        self.mean = tuple(mean)
        self.attempts = attempts

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        """``img`` C x H x W; returns it unchanged or an erased copy."""
        if torch.rand((), dtype=torch.float64).item() >= self.probability:
            return img
        channels, height, width = img.shape
        area = height * width
        for _ in range(self.attempts):
            target_area = _uniform(self.sl, self.sh) * area
            aspect_ratio = _uniform(self.r1, 1 / self.r1)
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < width and h < height:
                top = int(torch.randint(0, height - h + 1, ()))
                left = int(torch.randint(0, width - w + 1, ()))
                erased = img.clone()
                if channels == 3:
                    fill = torch.tensor(self.mean, dtype=img.dtype).view(3, 1, 1)
                    erased[:, top : top + h, left : left + w] = fill
                else:  # the reference erases only the first channel of other images
                    erased[0, top : top + h, left : left + w] = self.mean[0]
                return erased
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(probability={self.probability}, sl={self.sl}, sh={self.sh}, r1={self.r1}, mean={self.mean})"
