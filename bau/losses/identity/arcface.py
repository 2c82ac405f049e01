"""ArcFace: additive angular margin softmax (Deng et al., CVPR 2019), ``arcface``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bau.losses.identity._registry import register_id_loss
from bau.losses.identity.base import IdentityLoss, at_least_fp32


@register_id_loss("arcface")
class ArcFace(IdentityLoss):
    """Cross-entropy of s * cos(theta_j + m [j = y]), theta_j the angle between the feature and
    the class weight W_j (both L2-normalised): the paper's eq. 3 and Algorithm 1.

    Defaults are the paper's: feature scale ``s`` = 64 and angular margin ``m`` = 0.5 (its
    section 4.1, implementation details). As in Algorithm 1 the margined target logit is cos(theta + m)
    at every angle; the later InsightFace code's fallback for theta > pi - m is not applied.
    The class weights are the model's classifier weight; the features the normalised BNNeck
    output. Computed in at least fp32 (the margin is a difference of nearly equal cosines).
    """

    def __init__(self, num_classes: int, feat_dim: int, s: float = 64.0, m: float = 0.5) -> None:
        super().__init__(num_classes, feat_dim)
        if s <= 0:
            raise ValueError(f"s (the feature scale) must be > 0, got {s}")
        if not 0 <= m < math.pi:
            raise ValueError(f"m (the angular margin, radians) must be in [0, pi), got {m}")
        self.s, self.m = s, m

    def forward(
        self, f: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        cos = F.normalize(at_least_fp32(f), dim=1) @ F.normalize(at_least_fp32(weight), dim=1).t()
        target = cos.gather(1, targets.unsqueeze(1))
        # cos(theta + m) = cos theta cos m - sin theta sin m, theta in [0, pi]: no arccos, whose
        # gradient is infinite at cos = +-1; the clamp keeps sqrt's gradient finite there.
        sin = (1 - target.pow(2)).clamp(min=1e-12).sqrt()
        margined = target * math.cos(self.m) - sin * math.sin(self.m)
        cos = cos.scatter(1, targets.unsqueeze(1), margined)
        return F.cross_entropy(self.s * cos, targets)
