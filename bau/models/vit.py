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
"""

from __future__ import annotations

import torch
from torch import nn

from bau.errors import ConfigError
from bau.models.head import ReIDModel
from bau.models.registry import register_model
from bau.models.weights import fetch_timm

IMAGENET_TAG = "vit_base_patch16_224.orig_in21k_ft_in1k"
PATCH = 16


class ViTReID(ReIDModel):
    foreign_prefixes = (("", "base."),)  # timm / TransReID state dicts

    def imagenet_state_dict(self) -> dict[str, torch.Tensor]:
        return fetch_timm(IMAGENET_TAG)

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


@register_model
def vitbase(num_classes: int, *, height: int = 256, width: int = 128) -> ViTReID:
    import timm

    if height % PATCH or width % PATCH:
        raise ConfigError(f"model.height/width: vitbase needs multiples of {PATCH}, got {height}x{width}")
    base = timm.create_model(
        "vit_base_patch16_224",
        pretrained=False,
        img_size=(height, width),
        drop_path_rate=0.1,
        num_classes=0,
        global_pool="token",
    )
    return ViTReID(base, nn.Identity(), base.num_features, num_classes)
