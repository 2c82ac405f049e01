"""RandomErasing (docs/reference.md §2.5) against the reference's algorithm written out here."""

from __future__ import annotations

import math

import pytest
import torch

from bau.pipeline.erasing import IMAGENET_MEAN, RandomErasing


class TorchRandom:
    """The subset of Python's ``random`` API the reference uses, drawing from torch's generator."""

    def random(self) -> float:
        return torch.rand((), dtype=torch.float64).item()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def randint(self, a: int, b: int) -> int:  # inclusive, as random.randint
        return int(torch.randint(a, b + 1, ()))


def reference_erasing(img, rnd, probability=0.5, sl=0.02, sh=0.4, r1=0.3, mean=IMAGENET_MEAN):
    """The reference class's __call__, transcribed from docs/reference.md §2.5 (in place, as it is)."""
    if rnd.uniform(0, 1) >= probability:
        return img
    for _ in range(100):
        area = img.size()[1] * img.size()[2]
        target_area = rnd.uniform(sl, sh) * area
        aspect_ratio = rnd.uniform(r1, 1 / r1)
        h = int(round(math.sqrt(target_area * aspect_ratio)))
        w = int(round(math.sqrt(target_area / aspect_ratio)))
        if w < img.size()[2] and h < img.size()[1]:
            x1 = rnd.randint(0, img.size()[1] - h)
            y1 = rnd.randint(0, img.size()[2] - w)
            if img.size()[0] == 3:
                for c in range(3):
                    img[c, x1 : x1 + h, y1 : y1 + w] = mean[c]
            else:
                img[0, x1 : x1 + h, y1 : y1 + w] = mean[0]
            return img
    return img


@pytest.mark.parametrize("shape", [(3, 64, 32), (3, 12, 6), (3, 5, 3), (1, 9, 7)])
def test_same_as_reference_algorithm(shape: tuple[int, int, int]) -> None:
    # Small images make many attempts fail, so the retry logic is exercised.
    erasing = RandomErasing()
    erased_count = 0
    for seed in range(200):
        img = torch.randn(shape)
        torch.manual_seed(seed)
        ours = erasing(img)
        torch.manual_seed(seed)
        expected = reference_erasing(img.clone(), TorchRandom())
        torch.testing.assert_close(ours, expected, rtol=0, atol=0)
        erased_count += not torch.equal(ours, img)
    assert 50 < erased_count < 150  # probability 0.5


def test_writes_raw_mean_values_in_one_rectangle() -> None:
    img = torch.full((3, 64, 32), 5.0)
    torch.manual_seed(0)
    out = RandomErasing(probability=1.0)(img)
    assert torch.equal(img, torch.full((3, 64, 32), 5.0))  # input untouched
    mask = out[0] != 5.0
    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
    h, w = len(rows), len(cols)
    assert int(mask.sum()) == h * w  # one solid rectangle
    assert rows[-1] - rows[0] + 1 == h and cols[-1] - cols[0] + 1 == w
    for c, value in enumerate(IMAGENET_MEAN):
        assert torch.all(out[c][mask] == torch.tensor(value))  # raw, not normalised
    assert 0.02 * 64 * 32 * 0.7 < h * w < 0.4 * 64 * 32 * 1.3  # area fraction, rounding slack


def test_bounds_are_inclusive() -> None:
    # A 4 x 4 image only fits 1..3 px sides; over many draws the rectangle touches every border.
    touches = set()
    for seed in range(400):
        torch.manual_seed(seed)
        out = RandomErasing(probability=1.0, mean=(9.0, 9.0, 9.0))(torch.zeros(3, 4, 4))
        mask = out[0] == 9.0
        if mask.any():
            touches |= {
                side
                for side, hit in zip("TBLR", (mask[0].any(), mask[-1].any(), mask[:, 0].any(), mask[:, -1].any()))
                if hit
            }
    assert touches == set("TBLR")


def test_nothing_fits_leaves_image_unchanged() -> None:
    img = torch.randn(3, 1, 1)  # no rectangle is strictly smaller than 1 x 1
    torch.manual_seed(0)
    assert torch.equal(RandomErasing(probability=1.0)(img), img)


def test_probability_zero() -> None:
    img = torch.randn(3, 16, 8)
    assert torch.equal(RandomErasing(probability=0.0)(img), img)
