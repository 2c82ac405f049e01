"""PCL: proxy-based contrastive learning (Yao et al., CVPR 2022), ``pcl``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bau.losses.identity._registry import register_id_loss
from bau.losses.identity.base import IdentityLoss, at_least_fp32
from bau.losses.identity.ce import cross_entropy_label_smooth

#: Negative pairs at most this similar are left out, as in the official code.
NEGATIVE_FLOOR = 1e-6


@register_id_loss("pcl")
class ProxyContrastive(IdentityLoss):
    """CE + ``contrast_weight`` * L_PCL, as the official code trains (github.com/yaoxufeng/
    PCL-Proxy-based-Contrastive-Learning-for-Domain-Generalization: ``domainbed/algorithms``,
    ``ERM.update``, ``loss_cls + pcl_weights * loss_pcl``; the loss is ``domainbed/losses.py``,
    ``ProxyPLoss``).

    L_PCL = mean_i -log softmax(scale * [s(z_i, p_{y_i}), s(z_i, z_j) for j in N(i)])_0: for each
    sample its class proxy is the one positive, and the other samples of the batch are the
    negatives: N(i) = {j: y_j != y_i, s(z_i, z_j) >= 1e-6} (the official code drops
    non-positive similarities). s is the cosine similarity. There is no sample-to-sample
    positive (the point of PCL), and no proxy-to-proxy term: the other classes' proxies enter
    only through the CE term, over the same class weights.

    z = a linear projection of the normalised BNNeck feature, p = the class weights times a
    learnt D x D matrix: the official ``fea_proj`` (one ``nn.Linear``, its PACS and
    TerraIncognita setting; it projects the un-normalised feature, which identity losses here
    do not see) and ``fc_proj`` (Kaiming-uniform, fan-out, as there). ``projector=False`` uses
    the features and class weights themselves.

    Defaults: ``scale`` = 12 (temperature 1/12) and ``contrast_weight`` = 1, the official values
    for every dataset (``domainbed/networks.py``, ``encoder``). ``epsilon``: the CE term's label
    smoothing, 0.1 as the ``ce`` loss so that the two differ by the PCL term only; the
    official CE has none (``epsilon: 0.0``).
    """

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        scale: float = 12.0,
        contrast_weight: float = 1.0,
        epsilon: float = 0.1,
        projector: bool = True,
    ) -> None:
        super().__init__(num_classes, feat_dim)
        if scale <= 0:
            raise ValueError(f"scale (1 / temperature) must be > 0, got {scale}")
        if contrast_weight < 0:
            raise ValueError(f"contrast_weight must be >= 0, got {contrast_weight}")
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.scale, self.contrast_weight, self.epsilon = scale, contrast_weight, epsilon
        self.feature_proj: nn.Linear | None = None
        self.proxy_proj: nn.Parameter | None = None
        if projector:
            self.feature_proj = nn.Linear(feat_dim, feat_dim)
            self.proxy_proj = nn.Parameter(torch.empty(feat_dim, feat_dim))
            nn.init.kaiming_uniform_(self.proxy_proj, mode="fan_out", a=math.sqrt(5))

    def forward(
        self, f: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        ce = cross_entropy_label_smooth(logits, targets, self.epsilon)
        return ce + self.contrast_weight * self.contrastive(f, weight, targets)

    def contrastive(self, f: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """L_PCL alone."""
        z, proxies = f, weight
        if self.feature_proj is not None:
            z, proxies = self.feature_proj(f), weight @ self.proxy_proj.t()
        z, proxies = F.normalize(at_least_fp32(z), dim=1), F.normalize(at_least_fp32(proxies), dim=1)
        positive = (z * proxies[targets]).sum(1, keepdim=True)
        sims = z @ z.t()
        negative = (targets.unsqueeze(1) != targets.unsqueeze(0)) & (sims >= NEGATIVE_FLOOR)
        logits = torch.cat([positive, sims.masked_fill(~negative, -math.inf)], dim=1)
        return F.cross_entropy(self.scale * logits, torch.zeros_like(targets))
