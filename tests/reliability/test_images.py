"""Images of every mode are read as 8-bit RGB faithfully or refused naming the file, by the
one reader of training, evaluation and FeatureExtractor, and by `bau verify`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bau.datasets.verify import decode_error
from bau.errors import DatasetError, TrainingError
from bau.evaluation.features import extract_features
from bau.pipeline.loaders import read_rgb

# 16-bit greyscale: 0, 257, 32896, 65535 -> 0, 1, 128, 255 (x / 257, rounded)
SIXTEEN_BIT = np.array([[0, 257], [32896, 65535], [128, 65407]], dtype=np.uint16)
EIGHT_BIT = np.array([[0, 1], [128, 255], [0, 255]], dtype=np.uint8)


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(SIXTEEN_BIT).save(path)
    assert Image.open(path).mode == "I;16"
    rgb = read_rgb(str(path))
    assert rgb.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(rgb), np.repeat(EIGHT_BIT[:, :, None], 3, axis=2))
    assert decode_error(path) is None


@pytest.mark.parametrize(("dtype", "mode"), [(np.int32, "I"), (np.float32, "F")])
def test_modes_without_a_faithful_rgb_form_are_refused_naming_the_file(tmp_path, dtype, mode):
    path = tmp_path / f"odd_{mode}.tif"
    Image.fromarray(SIXTEEN_BIT.astype(dtype)).save(path)
    assert Image.open(path).mode == mode
    with pytest.raises(TrainingError) as error:
        read_rgb(str(path))
    kind = {"I": "32-bit integer", "F": "32-bit float"}[mode]
    assert str(error.value).startswith(
        f"cannot read image {path}: mode {mode} ({kind} pixels) has no faithful 8-bit RGB form; "
        "save it as 8-bit RGB (or 16-bit greyscale PNG)"
    )
    assert decode_error(path) == (
        f"mode {mode} ({kind} pixels) has no faithful 8-bit RGB form; save it as 8-bit RGB (or 16-bit greyscale PNG)"
    )


class MeanColour(torch.nn.Module):
    """A stand-in model: an image's mean colour (enough to tell images apart)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) + 3.0


def _images(tmp_path: Path) -> list[Path]:
    paths = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (16, 32), colour).save(paths[-1])
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((32, 16), 40000, dtype=np.uint16)).save(deep)
    return [*paths, deep]


def test_feature_extraction_takes_paths_and_pil_images_mixed(tmp_path):
    paths = _images(tmp_path)
    from_paths = extract_features(MeanColour(), [str(p) for p in paths], height=32, width=16, progress=False)
    mixed = [Image.open(paths[0]), paths[1], Image.open(paths[2])]  # a Path, and a 16-bit PIL image
    from_mixed = extract_features(MeanColour(), mixed, height=32, width=16, progress=False)
    assert torch.equal(from_mixed, from_paths)


def test_feature_extraction_says_what_it_accepts(tmp_path):
    with pytest.raises(DatasetError, match="cannot read an image from a ndarray: give image paths"):
        extract_features(MeanColour(), [np.zeros((32, 16, 3))], height=32, width=16, progress=False)
    odd = Image.fromarray(np.zeros((32, 16), dtype=np.float32))
    with pytest.raises(DatasetError, match=r"image 1 of the list \(a PIL image\): mode F \(32-bit float pixels\)"):
        extract_features(MeanColour(), [_images(tmp_path)[0], odd], height=32, width=16, progress=False)
