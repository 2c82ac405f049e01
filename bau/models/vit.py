"""ViT-B/16 of TransReID as the reference uses it (docs/reference.md §3.3), built with timm.

Input ``height`` x ``width`` (256x128), patch 16 and stride 16 (16x8 patches + CLS), depth 12,
12 heads, qkv bias, LayerNorm eps 1e-6, drop path 0.1 (linear over the blocks), no SIE. The
feature is the CLS token after the final LayerNorm (768-d), then BNNeck(768); no pooling.

``imagenet`` = timm's ``vit_base_patch16_224.orig_in21k_ft_in1k``, the same weights as the
reference's ``jx_vit_base_p16_224-80ecf9dd.pth``. Its 14x14 position embedding is resized to
the model's grid with bilinear interpolation (align_corners False, no antialiasing), CLS kept,
as TransReID does; the same happens for any weights file with another grid. Keys: ``base.*``
= timm's (= TransReID's) names, ``bn_neck.*``, ``classifier.weight``; TransReID's unused
``base.fc.*`` is skipped when loading a reference checkpoint.

``vittiny`` (ViT-Ti/16: 192-d, 3 heads, 5.7M parameters; not in the paper) has the same
structure, for CPU runs, as ``resnet18`` stands in for ResNet-50: a training step at 64x32 costs
about a tenth of ViT-B/16's. ``imagenet`` = timm's ``vit_tiny_patch16_224.augreg_in21k_ft_in1k``.
"""

from __future__ import annotations

import torch
from torch import nn

from bau.errors import ConfigError
from bau.models.head import ReIDModel
from bau.models.registry import register_model
from bau.models.weights import fetch_timm

IMAGENET_TAG = "vit_base_patch16_224.orig_in21k_ft_in1k"
TINY_IMAGENET_TAG = "vit_tiny_patch16_224.augreg_in21k_ft_in1k"
PATCH = 16


class ViTReID(ReIDModel):
    foreign_prefixes = (("", "base."),)  # timm / TransReID state dicts

    def __init__(self, base: nn.Module, num_classes: int, imagenet_tag: str) -> None:
        super().__init__(base, nn.Identity(), base.num_features, num_classes)
        self._imagenet_tag = imagenet_tag

    def imagenet_state_dict(self) -> dict[str, torch.Tensor]:
        return fetch_timm(self._imagenet_tag)

    def adapt_weight(self, key: str, value: torch.Tensor) -> torch.Tensor:
        if key != "base.pos_embed" or value.shape == self.base.pos_embed.shape:
            return value
        from timm.layers import resample_abs_pos_embed

        # The source grid is taken as square (14x14 for 224 input), as TransReID does.
        return resample_abs_pos_embed(
            value,
            new_size=list(self.base.patch_embed.grid_size),
            num_prefix_tokens=1,
            interpolation="bilinear",
            antialias=False,
        )


def _vit(timm_name: str, imagenet_tag: str, arch: str, num_classes: int, height: int, width: int) -> ViTReID:
    import timm

    if height % PATCH or width % PATCH:
        raise ConfigError(f"model.height/width: {arch} needs multiples of {PATCH}, got {height}x{width}")
    base = timm.create_model(
        timm_name,
        pretrained=False,
        img_size=(height, width),
        drop_path_rate=0.1,
        num_classes=0,
        global_pool="token",
    )
    return ViTReID(base, num_classes, imagenet_tag)


@register_model
def vitbase(num_classes: int, *, height: int = 256, width: int = 128) -> ViTReID:
    """The reference's ViT-B/16 (768-d features)."""
    return _vit("vit_base_patch16_224", IMAGENET_TAG, "vitbase", num_classes, height, width)


@register_model
def vittiny(num_classes: int, *, height: int = 256, width: int = 128) -> ViTReID:
    """ViT-Ti/16 with the same structure (192-d features), for CPU runs."""
    return _vit("vit_tiny_patch16_224", TINY_IMAGENET_TAG, "vittiny", num_classes, height, width)
