"""ResNet-50 of the reference (docs/reference.md §3.1) and ResNet-18 with the same structure (CPU runs).

``base`` = conv1, bn1, relu, maxpool, layer1, IN, layer2, IN, layer3, IN, layer4, GeM, with
last stride 1 and InstanceNorm2d(affine=False) after stages 1-3; ``pool`` = a second GeM on
the already pooled 1x1 map. That second GeM is a mathematical identity kept for checkpoint
compatibility (docs/reference.md §7 item 6).

State-dict keys equal the reference's without DataParallel's ``module.`` prefix:

==================  =========================  ==============================
this package        reference checkpoint       torchvision ImageNet file
==================  =========================  ==============================
base.0.*            module.base.0.*            conv1.*
base.1.*            module.base.1.*            bn1.*
base.4.*            module.base.4.*            layer1.*
base.6.*            module.base.6.*            layer2.*
base.8.*            module.base.8.*            layer3.*
base.10.*           module.base.10.*           layer4.*
base.11.p           module.base.11.p           (GeM p, init 3)
pool.p              module.pool.p              (second GeM p, init 3)
bn_neck.*           module.bn_neck.*           -
classifier.weight   module.classifier.weight   - (fc.* is skipped)
==================  =========================  ==============================

(base.2 ReLU, base.3 max-pool and base.5/7/9 InstanceNorm have no tensors.)
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn
from torchvision.models import ResNet, WeightsEnum
from torchvision.models.resnet import BasicBlock

from bau.errors import ConfigError
from bau.models.head import ReIDModel
from bau.models.pooling import GeM
from bau.models.registry import register_model
from bau.models.weights import fetch_torchvision


class ResNetReID(ReIDModel):
    foreign_prefixes = (
        ("conv1.", "base.0."),
        ("bn1.", "base.1."),
        ("layer1.", "base.4."),
        ("layer2.", "base.6."),
        ("layer3.", "base.8."),
        ("layer4.", "base.10."),
    )

    def __init__(self, resnet: ResNet, imagenet: WeightsEnum | None, num_classes: int) -> None:
        # Last stride 1: the stride-2 convolutions of layer4's first block (conv2 in a
        # Bottleneck, conv1 in a BasicBlock, and the downsample) -> 16x8 maps at 256x128.
        for module in resnet.layer4[0].modules():
            if isinstance(module, nn.Conv2d):
                module.stride = (1, 1)
        channels = [_out_channels(stage) for stage in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)]
        base = nn.Sequential(
            resnet.conv1,
            resnet.bn1,
            resnet.relu,
            resnet.maxpool,
            resnet.layer1,
            nn.InstanceNorm2d(channels[0]),
            resnet.layer2,
            nn.InstanceNorm2d(channels[1]),
            resnet.layer3,
            nn.InstanceNorm2d(channels[2]),
            resnet.layer4,
            GeM(),
        )
        super().__init__(base, GeM(), channels[3], num_classes)
        self._imagenet = imagenet

    def imagenet_state_dict(self) -> dict[str, torch.Tensor]:
        if self._imagenet is None:
            arch = self.model_config.get("arch", "this ResNet")
            raise ConfigError(
                f"model.pretrained=imagenet: {arch} has no ImageNet weights (no such file is published); "
                "use model.pretrained=none, a weights file of the same shapes, or model.arch=resnet18/resnet50"
            )
        return fetch_torchvision(self._imagenet)


def _out_channels(stage: nn.Sequential) -> int:
    # The last BatchNorm of a stage normalises its output (bn3 of a Bottleneck, bn2 of a BasicBlock).
    return [m for m in stage.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features


@register_model
def resnet50(num_classes: int, *, height: int = 256, width: int = 128) -> ResNetReID:
    """The reference's model: 2048-d features; ImageNet = torchvision IMAGENET1K_V1."""
    weights = torchvision.models.ResNet50_Weights.IMAGENET1K_V1
    return ResNetReID(torchvision.models.resnet50(weights=None), weights, num_classes)


@register_model
def resnet18(num_classes: int, *, height: int = 256, width: int = 128) -> ResNetReID:
    """Same structure on ResNet-18 (512-d features), for CPU runs; ImageNet = IMAGENET1K_V1."""
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    return ResNetReID(torchvision.models.resnet18(weights=None), weights, num_classes)


def _slim_resnet18(widths: tuple[int, int, int, int], num_classes: int) -> ResNetReID:
    # torchvision's ResNet-18 with its stem and four stages rebuilt at `widths` (its BasicBlock
    # takes any width; its ResNet fixes 64-128-256-512), initialised as timm initialises a
    # ResNet: He-normal (fan-out) convolutions and the last BatchNorm of each residual branch
    # at zero, so every block starts as the identity.
    resnet = torchvision.models.resnet18(weights=None)
    resnet.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    resnet.bn1 = nn.BatchNorm2d(widths[0])
    inplanes = widths[0]
    for index, (planes, stride) in enumerate(zip(widths, (1, 2, 2, 2)), start=1):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )
        blocks = [BasicBlock(inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        setattr(resnet, f"layer{index}", nn.Sequential(*blocks))
        inplanes = planes
    for module in resnet.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, BasicBlock):
            nn.init.zeros_(module.bn2.weight)
    return ResNetReID(resnet, None, num_classes)


@register_model
def resnet18_half(num_classes: int, *, height: int = 256, width: int = 128) -> ResNetReID:
    """ResNet-18 at half width (stem and stages 32-64-128-256, 256-d features), same structure.

    A CPU model: a quarter of ResNet-18's FLOPs. No ImageNet weights exist for it.
    """
    return _slim_resnet18((32, 64, 128, 256), num_classes)


@register_model
def resnet18_tiny(num_classes: int, *, height: int = 256, width: int = 128) -> ResNetReID:
    """ResNet-18 with stem and stages 16-32-64-64 (64-d features), same structure.

    The default configuration's model, trained from scratch at 64x32 on two CPU cores. Its
    first three stages are at quarter width; the last, which at last stride 1 holds half of a
    quarter-width ResNet-18's convolution FLOPs, stays at 64 channels: a BAU step then costs
    0.8 of the quarter-width one (0.097 vs 0.123 s per iteration on an AVX2 core), and on
    Protocol-2's C3 target it learned as well (cross-entropy 5.46 -> 2.60 vs 5.50 -> 2.50 in 600
    iterations; mAP 21.5 vs 18.3, one seed). No ImageNet weights.
    """
    return _slim_resnet18((16, 32, 64, 64), num_classes)
