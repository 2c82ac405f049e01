"""Decoded training images kept in memory, so that each image is decoded once per process.

Every epoch draws each training image again; without the cache every draw pays the JPEG (or
PNG) decode and the resize. The cache keeps what its ``decode`` returns, an image or a tuple of
images (the training loader's: the decoded RGB image and its resize to the views' size): the
augmentations run on them afresh at every draw, so they stay random per draw, and the
transforms never modify their input image in place (PIL operations return new images).

It is per process: with ``data.workers > 0`` every worker process would fill its own copy and
lose it at the end of the epoch (the workers are not persistent), so the training loader uses
it with ``data.workers: 0`` only.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

#: What a cache entry holds: one image, or several (the training loader's: decoded and resized).
Decoded = Image.Image | tuple[Image.Image, ...]

#: Default memory budget of the decoded images (uncompressed RGB bytes). The default run's
#: synthetic sources (``--scale tiny``: 1308 images) take 51 MB; Market-1501's 12,936 training
#: images of 128x64, 318 MB.
DEFAULT_BUDGET_BYTES = 1 << 30


def _nbytes(value: Decoded) -> int:
    images = value if isinstance(value, tuple) else (value,)
    return sum(image.width * image.height * len(image.getbands()) for image in images)


class DecodedImageCache:
    """``get(path)``: the decoded image(s), decoded by ``decode`` at its first request.

    Entries are kept while their total size (width x height x bands bytes) stays within
    ``budget_bytes``; past it the rest are decoded at every request, as without a cache, so the
    memory it holds is bounded whatever the dataset's size.
    """

    def __init__(self, decode: Callable[[str], Decoded], budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0, got {budget_bytes}")
        self.decode = decode
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.images: dict[str, Decoded] = {}
        self.full = budget_bytes == 0

    def __len__(self) -> int:
        return len(self.images)

    def get(self, path: str) -> Decoded:
        image = self.images.get(path)
        if image is not None:
            return image
        image = self.decode(path)
        if not self.full:
            size = _nbytes(image)
            if self.used_bytes + size <= self.budget_bytes:
                self.images[path] = image
                self.used_bytes += size
            else:
                self.full = True
        return image
