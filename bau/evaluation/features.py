"""Feature extraction: a model's L2-normalised embedding of many images, in batches.

The official evaluator (``bau/evaluators.py``, ``extract_features``) extracts in eval mode,
one forward pass per image, no flip, fp32. Here: eval mode, batches through a DataLoader
with a progress bar, fp32 unless fp16 autocast is asked for (``amp``, an option: it moves
features by ~5e-4, enough to change which evaluation epoch scores best), optional
horizontal-flip averaging (off by default, as the reference). Features are re-normalised in
float32, so they are unit vectors whatever the autocast precision.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from bau.devices import resolve_device
from bau.errors import DatasetError
from bau.pipeline.loaders import ImageDataset
from bau.pipeline.transforms import build_test_transform

#: What ``images`` may hold: paths, dataset items whose first field is a path, or PIL images.
ImageSource = str | os.PathLike | Sequence[Any] | Image.Image


@torch.inference_mode()
def extract_features(
    model: torch.nn.Module,
    images: Sequence[ImageSource],
    *,
    height: int,
    width: int,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    flip: bool = False,
    amp: bool = False,
    workers: int = 0,
    progress: bool = True,
) -> torch.Tensor:
    """Features (N x D float32, L2-normalised, on CPU) of ``images``, in their order.

    ``model`` must return the embedding in eval mode (:class:`bau.models.ReIDModel` returns
    the L2-normalised BNNeck feature); it is put in eval mode and back in its previous mode
    afterwards. ``amp``: fp16 autocast on ``device`` (off by default: fp32, as the official
    evaluator). ``flip``: features of the image and its mirror image are summed before
    normalisation.
    """
    device = resolve_device(device)
    transform = build_test_transform(height, width)
    dataset = ImageDataset(images, transform)  # paths, items and PIL images, in any mix
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=device.type == "cuda"
    )
    was_training = model.training
    model.eval()
    features = []
    try:
        with tqdm(total=len(dataset), desc="features", unit="img", disable=not progress, leave=False) as bar:
            for batch, _ in loader:
                batch = batch.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                    f = model(batch).float()
                    if flip:
                        f = f + model(torch.flip(batch, dims=[3])).float()
                features.append(F.normalize(f, dim=1).cpu())
                bar.update(len(batch))
    finally:
        model.train(was_training)
    if not features:
        raise DatasetError("no images to extract features from (empty image list)")
    return torch.cat(features)
