"""``bau.FeatureExtractor``: normalised re-ID features of your own images from a checkpoint.

>>> import bau
>>> extractor = bau.FeatureExtractor("runs/p2_market/checkpoints/epoch_060.pth", device="auto")
>>> feats = extractor(["a.jpg", "b.jpg"])        # 2 x 2048 float32, unit rows
>>> float(feats[0] @ feats[1])                    # cosine similarity
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from PIL import Image

from bau.devices import resolve_device
from bau.evaluation.features import ImageSource, extract_features


class FeatureExtractor:
    """Maps image paths or PIL images (one, or a list mixing both) to L2-normalised features
    with a trained model. Images are read as 8-bit RGB (16-bit greyscale scaled); 32-bit integer
    or float images, and anything that is neither a path nor a PIL image, are a
    :class:`~bau.errors.DatasetError` saying so.

    ``checkpoint``: a ``bau-checkpoint-v1`` file (``bau train`` writes them); the image size
    is the one the model was trained at. ``device``: ``auto`` (GPU if any), ``cpu``, ``cuda``.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike,
        device: str = "auto",
        *,
        batch_size: int = 64,
        flip: bool = False,
        workers: int = 0,
    ) -> None:
        from bau.models import load_model

        self.device = resolve_device(device)
        self.model, saved = load_model(checkpoint, device=self.device, num_classes=0)
        config = saved["model_config"]
        self.height, self.width = int(config["height"]), int(config["width"])
        self.epoch = saved.get("epoch")
        self.batch_size, self.flip, self.workers = batch_size, flip, workers

    @property
    def feat_dim(self) -> int:
        return int(self.model.feat_dim)

    def __call__(self, images: ImageSource | Sequence[ImageSource], *, progress: bool = False) -> torch.Tensor:
        """Features (N x D float32 on CPU, unit rows) of one image or a sequence of images
        (paths and PIL images in any mix), in their order."""
        if isinstance(images, (str, os.PathLike, Image.Image)):
            images = [images]
        return extract_features(
            self.model,
            list(images),
            height=self.height,
            width=self.width,
            batch_size=self.batch_size,
            device=self.device,
            flip=self.flip,
            workers=self.workers,
            progress=progress,
        )
