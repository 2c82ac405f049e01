"""MobileNetV2 x1.4 (docs/reference.md §3.2) through timm's ``mobilenetv2_140``: features -> GeM -> BNNeck(1792).

Deliberate difference: the reference uses Torchreid's MobileNetV2 and its ImageNet file
``mobilenetv2_1.4-bc1cc36b.pth``; timm's network rounds channel widths to multiples of 8
(Torchreid truncates), so Torchreid weight files do not load into it. ``imagenet`` here means
timm's ``mobilenetv2_140.ra_in1k`` weights. Keys: ``base.*`` = timm's names (``conv_stem``,
``blocks``, ``conv_head``, ``bn2``), ``pool.p``, ``bn_neck.*``, ``classifier.weight``.
"""

from __future__ import annotations

import torch

from bau.models.head import ReIDModel
from bau.models.pooling import GeM
from bau.models.registry import register_model
from bau.models.weights import fetch_timm

IMAGENET_TAG = "mobilenetv2_140.ra_in1k"


class MobileNetReID(ReIDModel):
    foreign_prefixes = (("", "base."),)  # timm state dicts

    def imagenet_state_dict(self) -> dict[str, torch.Tensor]:
        return fetch_timm(IMAGENET_TAG)


@register_model
def mobilenetv2(num_classes: int, *, height: int = 256, width: int = 128) -> MobileNetReID:
    import timm

    # num_classes=0 and no global pool: ``base`` returns the 1792-channel map of conv_head/bn2/ReLU6.
    base = timm.create_model("mobilenetv2_140", pretrained=False, num_classes=0, global_pool="")
    return MobileNetReID(base, GeM(), base.num_features, num_classes)
