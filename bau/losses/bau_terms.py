"""The BAU loss terms of one batch (docs/reference.md §4.3), as in the reference code.

Total: L = ID + Tri + lam * Align + Uniform + Domain, ID the identity loss
(:mod:`bau.losses.identity`, the reference's CE by default), with Uniform and Domain the means of
their weak- and strong-view values (the caller combines the terms, see
:mod:`bau.training.objective`). Features ``f`` are L2-normalised BNNeck outputs; ``emb`` are
pre-BN embeddings.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

#: Added to a distance to push a pair out of a min (or, negated, a max): the reference's value.
FAR = 9_999_999.0

_warned: set[str] = set()


def squared_euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a_i||^2 + ||b_j||^2 - 2 a_i.b_j (unclamped, as the reference computes it), at least fp32.

    Under fp16 autocast the product is an fp16 matmul and the squared norms fp32, so the sum is
    fp32 as in the reference; fp32 also keeps ``FAR`` offsets finite.
    """
    dist = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1).unsqueeze(0) - 2 * (a @ b.t())
    return dist.to(torch.promote_types(dist.dtype, torch.float32))


def triplet_hard(emb: torch.Tensor, targets: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    """Batch-hard triplet loss on Euclidean distances sqrt(clamp(d^2, 1e-12)).

    The hardest positive of an anchor is the farthest same-identity sample, the anchor itself
    included; the hardest negative the nearest other-identity sample. mean(max(0, d_ap - d_an + margin)).
    """
    dist = squared_euclidean(emb, emb).clamp(min=1e-12).sqrt()
    same = (targets.unsqueeze(1) == targets.unsqueeze(0)).to(dist.dtype)
    hardest_positive = (dist - FAR * (1 - same)).max(dim=1).values
    hardest_negative = (dist + FAR * same).min(dim=1).values
    return F.margin_ranking_loss(hardest_negative, hardest_positive, torch.ones_like(hardest_positive), margin=margin)


@torch.no_grad()
def reliability_weights(f_w: torch.Tensor, f_s: torch.Tensor, k: int = 10) -> torch.Tensor:
    """W[i, j] = |N(s_i) & N(w_j)| / (|N(s_i) | N(w_j)| + 1e-6): row strong i, column weak j.

    N(x) = the k-reciprocal neighbours of x among all 2B features (x itself included): j is in
    N(i) iff each is among the other's k most similar features (top-k over all 2B, self included).
    Constants: computed without gradient. ``topk`` replaces the reference's full sort; the two
    can differ only in which of several exactly tied k-th neighbours is taken.
    """
    f = torch.cat([f_w, f_s])
    sims = f @ f.t()
    top = sims.topk(min(k, f.shape[0]), dim=1).indices
    knn = torch.zeros_like(sims).scatter_(1, top, 1.0)
    mutual = knn * knn.t()
    mutual_w, mutual_s = mutual[: f_w.shape[0]], mutual[f_w.shape[0] :]
    inter = mutual_s @ mutual_w.t()
    union = mutual_s.sum(1, keepdim=True) + mutual_w.sum(1).unsqueeze(0) - inter
    return inter / (union + 1e-6)


def alignment_loss(
    f_s: torch.Tensor, f_w: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """sum_M W[i,j] ||f_s,i - f_w,j||^2 / sum_M W[i,j] over M = {(i, j): y_i = y_j} (i = j included).

    ``weights`` (B x B, row strong, column weak) are constants; None = all ones (the
    reference without its weighting strategy: the plain mean over same-identity pairs).
    """
    dist = squared_euclidean(f_s, f_w)
    # Pairs outside M get weight 0: a B x B product instead of boolean indexing, which would
    # make the GPU report the number of pairs to the CPU at every step.
    w = (targets.unsqueeze(1) == targets.unsqueeze(0)).to(dist.dtype)
    if weights is not None:
        w = w * weights.to(dist.dtype)
    return (dist * w).sum() / w.sum()


def uniformity_loss(f: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """log mean_{i<j} exp(-t ||f_i - f_j||^2) over one view's features."""
    return torch.pdist(f, p=2).pow(2).mul(-t).exp().mean().log()


def domain_uniformity_loss(
    f: torch.Tensor,
    domains: torch.Tensor,
    prototypes: torch.Tensor,
    proto_domains: torch.Tensor,
    t: float = 2.0,
    domain_specific: bool = True,
) -> torch.Tensor:
    """log mean exp(-t * Delta) over, per sample, its 2nd .. (B+1)th nearest same-domain prototypes.

    Delta[i, n] = ||f_i - c_n||^2, plus 9,999,999 when prototype n is of another domain than
    sample i; each row sorted ascending keeps positions 1..B (B = f.size(0)): the nearest is
    dropped whatever its class (docs/reference.md §4.3, 7 item 4). With ``domain_specific=False`` every
    prototype counts as same-domain.

    Fewer prototypes than needed keep the reference's slicing: with fewer than B+1 same-domain
    prototypes other-domain ones (exp(-huge) = 0) fill the slice and dilute the mean, and with
    fewer than B+1 prototypes in all the slice holds the N-1 available ones. Both are logged
    once as a warning, since with the reference's datasets neither happens.
    """
    m, n = f.shape[0], prototypes.shape[0]
    if n < 2:
        raise ValueError(f"domain_uniformity_loss needs at least 2 prototypes, got {n}")
    dist = squared_euclidean(f, prototypes.to(f.dtype))
    if domain_specific:
        other = (domains.unsqueeze(1) != proto_domains.unsqueeze(0)).to(dist.dtype)
        dist = dist + FAR * other
        _warn_if_short(int((1 - other).sum(1).min()), m, n)
    else:
        _warn_if_short(n, m, n)
    kept = dist.topk(min(m + 1, n), dim=1, largest=False).values[:, 1:]
    return kept.mul(-t).exp().mean().log()


def _warn_if_short(available: int, m: int, n: int) -> None:
    if available >= m + 1:
        return
    if n < m + 1:
        message = (
            f"domain loss: {n} prototypes in all but the batch of {m} needs {m + 1}; "
            f"averaging over the {n - 1} available ones"
        )
    else:
        message = (
            f"domain loss: a domain has only {available} prototypes but the batch of {m} needs "
            f"{m + 1}; as in the reference, other-domain prototypes (weight 0) fill the rest and dilute the mean"
        )
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)
