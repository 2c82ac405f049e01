"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) as the official ``bau/utils/rerank.py`` does it.

Semantics of the official code (docs/reference.md §5), with ``X = [queries; gallery]`` (N = Q + G items):

1. ``D`` = squared Euclidean distances of all pairs; the routine squares them *again*
   (``D2 = D ** 2``) and divides each column by its maximum, then transposes. ``D2`` is
   symmetric, so row ``i`` of the result is ``R[i] = D2[i] / max(D2[i])``.
2. ``initial_rank[i]`` = the items sorted by ``R[i]``; only its first ``k1 + 1`` are used.
3. ``R(i)`` = k-reciprocal neighbours: ``j`` in the first ``k1 + 1`` of ``i`` with ``i`` in
   the first ``k1 + 1`` of ``j``. Each ``c`` in ``R(i)`` whose own reciprocal set with
   ``round(k1 / 2)`` (``R_half(c)``) shares more than 2/3 of its items with ``R(i)`` adds
   ``R_half(c)``. ``V[i, j] = exp(-R[i, j])`` over the expanded set, normalised to sum 1.
4. Query expansion: ``V[i]`` becomes the mean of ``V`` over the first ``k2`` of ``initial_rank[i]``.
5. Jaccard distance ``1 - m / (2 - m)`` with ``m = sum_k min(V[i, k], V[j, k])``; the final
   distance is ``(1 - lambda) * jaccard + lambda * R`` on the query x gallery block.

Memory: the reference holds several dense N x N matrices at once (the distances, V and the
expanded V in float32, 1.5 GB each at Market-1501 size, N = 19,281; the initial ranking,
3 GB as np.argsort's int64 before its int32 copy) plus Q x N Jaccard distances. Here
nothing N x N is built:

* the neighbour pass holds one ``chunk x N`` float32 block of distances at a time (64 MB)
  and keeps ``N x (k1 + 1)`` int64 indices;
* V and its query expansion are scipy CSR matrices (Market-1501 size with generated
  features: 20 and 52 non-zeros per row), their values from a sampled matrix product;
* Jaccard distances are computed only for query rows, a chunk of queries at a time, from an
  inverted index of the gallery rows of V (at most ``JACCARD_BUDGET`` expanded triples).

With the features (one concatenated copy, N x D float32) the peak is a few hundred MB above
them at Market-1501 size. The neighbour pass and the original distances run on the
features' device; the sparse steps on CPU. Ties in the initial ranking are broken by
``torch.topk`` (the reference's ``np.argsort`` is unstable too).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

from bau.metrics.distance import squared_euclidean, squared_norms

#: Triples (query, shared neighbour, gallery item) expanded at once in the Jaccard step, and
#: query x gallery entries of one Jaccard block.
JACCARD_BUDGET = 1 << 22


def reranked_distance_chunks(
    qf: torch.Tensor,
    gf: torch.Tensor,
    *,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    chunk_size: int = 256,
) -> Iterator[torch.Tensor]:
    """Row chunks (queries in order, float32, CPU) of the re-ranked query x gallery distance.

    Features as for :func:`bau.metrics.evaluate_rank` (L2-normalised, Q x D and G x D).
    """
    feats = torch.cat([qf, gf.to(qf.device)]).float()
    num_query, num_gallery = qf.shape[0], gf.shape[0]
    neighbours, row_max = _initial_neighbours(feats, k1 + 1, chunk_size)
    v = _expanded_weights(feats, neighbours, row_max, k1)
    if k2 != 1:
        v = _query_expansion(neighbours[:, :k2], v)
    gallery_index = v[num_query:].T.tocsr()  # row k: gallery items with V[j, k] != 0
    queries = v[:num_query].tocsr()
    gallery, gallery_norms = feats[num_query:], squared_norms(feats[num_query:])
    rows_per_block = max(1, min(chunk_size, JACCARD_BUDGET // max(1, num_gallery)))
    for start, stop in _jaccard_chunks(queries, gallery_index, rows_per_block):
        jaccard = _jaccard(queries[start:stop], gallery_index, num_gallery)
        original = (_squared_squared(feats[start:stop], gallery, gallery_norms) / row_max[start:stop, None]).cpu()
        yield jaccard * (1 - lambda_value) + original * lambda_value


def _squared_squared(rows: torch.Tensor, feats: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """``D2``: the reference's squared Euclidean distance of ``rows`` to ``feats``, squared again."""
    return squared_euclidean(rows, feats, g_norms=norms).pow_(2)


def _initial_neighbours(feats: torch.Tensor, k: int, chunk_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``k`` of every item's initial ranking (N x k, CPU) and each row's maximum of D2."""
    n = feats.shape[0]
    rows_per_chunk = max(1, min(chunk_size, (1 << 24) // n))
    norms = squared_norms(feats)
    neighbours, row_max = [], []
    for start in range(0, n, rows_per_chunk):
        dist = _squared_squared(feats[start : start + rows_per_chunk], feats, norms)
        peak = dist.amax(1)
        neighbours.append(torch.topk(dist / peak[:, None], min(k, n), dim=1, largest=False).indices.cpu())
        row_max.append(peak)
    return torch.cat(neighbours), torch.cat(row_max)


def _reciprocal(ranked: torch.Tensor) -> torch.Tensor:
    """``mask[i, a]``: ``i`` is among the first ``ranked.shape[1]`` of its ``a``-th neighbour."""
    own = torch.arange(len(ranked))[:, None, None]
    return (ranked[ranked] == own).any(-1)


def _expanded_weights(feats: torch.Tensor, neighbours: torch.Tensor, row_max: torch.Tensor, k1: int) -> sp.csr_matrix:
    """V: for every item its expanded k-reciprocal set weighted by ``exp(-R)``, rows summing to 1."""
    n = len(neighbours)
    forward = neighbours[:, : k1 + 1]
    half = neighbours[:, : int(np.around(k1 / 2)) + 1]
    half_set = torch.where(_reciprocal(half), half, -1)  # R_half(c), -1 = not a member
    half_size = (half_set >= 0).sum(1)
    rows_out, cols_out = [], []
    step = max(1, (1 << 22) // (forward.shape[1] ** 2 * half.shape[1]))
    for start in range(0, n, step):
        fwd = forward[start : start + step]
        own = torch.arange(start, start + len(fwd))[:, None, None]
        members = torch.where((forward[fwd] == own).any(-1), fwd, -1)  # R(i), -1 = not a member
        candidates = half_set[fwd]  # R_half(c) of every c in the first k1 + 1, (rows, k1+1, half)
        overlap = ((candidates[..., None] == members[:, None, None, :]) & (candidates[..., None] >= 0)).any(-1).sum(-1)
        # The reference's test, in floating point: |R_half(c) & R(i)| > 2/3 |R_half(c)|.
        grow = (members >= 0) & (overlap.double() > 2.0 / 3.0 * half_size[fwd].double())
        expanded = torch.where(grow[..., None], candidates, -1).flatten(1)
        chosen = torch.cat([members, expanded], 1).sort(1).values
        first = torch.ones_like(chosen, dtype=torch.bool)
        first[:, 1:] = chosen[:, 1:] != chosen[:, :-1]
        local_rows, slots = (first & (chosen >= 0)).nonzero(as_tuple=True)
        rows_out.append(local_rows + start)
        cols_out.append(chosen[local_rows, slots])
    rows, cols = torch.cat(rows_out), torch.cat(cols_out)
    weights = torch.exp(-_pair_values(feats, rows, cols, row_max))
    totals = torch.zeros(n, dtype=weights.dtype).index_add_(0, rows, weights)
    values = (weights / totals[rows]).numpy()
    return sp.csr_matrix((values, (rows.numpy(), cols.numpy())), shape=(n, n), dtype=np.float32)


def _pair_values(feats: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, row_max: torch.Tensor) -> torch.Tensor:
    """``R[i, j]`` for the listed pairs (row-major, columns ascending in a row), on CPU.

    The dot products come from a sampled matrix product: only the listed entries of
    ``feats @ feats.T`` are computed.
    """
    device = feats.device
    rows, cols = rows.to(device), cols.to(device)
    row_ptr = torch.zeros(len(feats) + 1, dtype=torch.int64, device=device)
    row_ptr[1:] = torch.cumsum(torch.bincount(rows, minlength=len(feats)), 0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        pattern = torch.sparse_csr_tensor(
            row_ptr, cols, torch.zeros(len(cols), device=device), (len(feats), len(feats)), check_invariants=False
        )
        dots = torch.sparse.sampled_addmm(pattern, feats, feats.t()).values()
    norms = squared_norms(feats)
    dist = norms[rows] + norms[cols] - 2 * dots
    return (dist.pow(2) / row_max[rows]).cpu()


def _query_expansion(first_k2: torch.Tensor, v: sp.csr_matrix) -> sp.csr_matrix:
    """Each row of V replaced by the mean of V over the item's first ``k2`` neighbours."""
    n, k2 = first_k2.shape
    rows = np.repeat(np.arange(n), k2)
    mean = sp.csr_matrix(
        (np.full(n * k2, 1.0 / k2, dtype=np.float32), (rows, first_k2.reshape(-1).numpy())), shape=(n, n)
    )
    return (mean @ v).tocsr()


def _jaccard_chunks(queries: sp.csr_matrix, gallery_index: sp.csr_matrix, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Query ranges of at most ``chunk_size`` rows and about ``JACCARD_BUDGET`` expanded triples."""
    row_of_entry = np.repeat(np.arange(queries.shape[0]), np.diff(queries.indptr))
    per_entry = np.diff(gallery_index.indptr)[queries.indices]
    per_row = np.bincount(row_of_entry, weights=per_entry, minlength=queries.shape[0])
    start, total = 0, 0
    for row, count in enumerate(per_row):
        if row > start and (row - start >= chunk_size or total + count > JACCARD_BUDGET):
            yield start, row
            start, total = row, 0
        total += count
    if start < queries.shape[0]:
        yield start, queries.shape[0]


def _jaccard(queries: sp.csr_matrix, gallery_index: sp.csr_matrix, num_gallery: int) -> torch.Tensor:
    """``1 - m / (2 - m)``, ``m[i, j] = sum_k min(V[i, k], V[j, k])``, for these query rows (float32)."""
    num_rows = queries.shape[0]
    row_of_entry = np.repeat(np.arange(num_rows), np.diff(queries.indptr))
    starts, lengths = gallery_index.indptr[queries.indices], np.diff(gallery_index.indptr)[queries.indices]
    # Expand every (query, k) entry to the gallery items j with V[j, k] != 0.
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    shared = np.minimum(np.repeat(queries.data, lengths), gallery_index.data[offsets])
    flat = np.repeat(row_of_entry, lengths) * num_gallery + gallery_index.indices[offsets]
    overlap = np.bincount(flat, weights=shared, minlength=num_rows * num_gallery).reshape(num_rows, num_gallery)
    overlap = overlap.astype(np.float32)  # float32 as the reference's
    return torch.from_numpy(1 - overlap / (2 - overlap))
