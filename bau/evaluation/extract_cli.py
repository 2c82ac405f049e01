"""``bau extract IMAGE_DIR --checkpoint C --out features.npz``: features of a folder of images.

The .npz holds ``feats`` (N x D float32, L2-normalised) and ``paths`` (relative to
IMAGE_DIR, sorted); every image file below IMAGE_DIR is included.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bau.errors import DatasetError
from bau.io import atomic_open

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image_dir", type=Path, metavar="IMAGE_DIR", help="folder of images (searched recursively)")
    parser.add_argument("--checkpoint", required=True, type=Path, help="a bau-checkpoint-v1 file")
    parser.add_argument("--out", required=True, type=Path, help=".npz file to write (feats, paths)")
    parser.add_argument("--flip", action="store_true", help="average the features of each image and its mirror")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes")
    parser.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda or cuda:N")


def list_images(image_dir: Path) -> list[Path]:
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir} is not a folder; pass the folder that holds your images")
    images = sorted(p for p in image_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise DatasetError(f"{image_dir} holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return images


def main(args: argparse.Namespace) -> int:
    from bau.distributed.lease import lease_for_device

    images = list_images(args.image_dir)
    # Before torch initialises CUDA: CUDA_VISIBLE_DEVICES must name the leased GPU only.
    with lease_for_device(args.device):
        from bau.evaluation.extractor import FeatureExtractor

        extractor = FeatureExtractor(
            args.checkpoint, device=args.device, batch_size=args.batch_size, flip=args.flip, workers=args.workers
        )
        feats = extractor(images, progress=True)
    with atomic_open(args.out, "wb") as handle:
        np.savez(
            handle,
            feats=feats.numpy(),
            paths=np.array([p.relative_to(args.image_dir).as_posix() for p in images], dtype=str),
        )
    print(f"{len(images)} images -> {args.out} ({feats.shape[1]}-d features)")
    return 0
