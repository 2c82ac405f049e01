"""Exact re-identification ranking metrics (mAP, CMC, mINP) by counting, without sorting the gallery.

Semantics are those of the official evaluator (``bau/evaluators.py`` and
``bau/evaluation_metrics/ranking.py``; docs/reference.md §5):

* distance: squared Euclidean ``|q|^2 + |g|^2 - 2 q.g`` in float32
  (:func:`bau.metrics.distance.squared_euclidean`, the same numbers as the official code);
* gallery items with the query's pid *and* camera are removed ("junk"); every other item
  is valid, distractors included; a query without a valid match is skipped;
* AP is scikit-learn's ``average_precision_score`` on the valid items scored by
  ``-distance``: items with equal distances form one threshold, so a positive's precision is
  ``#positives with d <= d_p / #valid items with d <= d_p``;
* CMC is first-match-break: the 0-based rank, among valid items, of the first match;
* mINP is the mean over queries of ``#positives / rank of the last positive`` (1-based,
  among valid items).

CMC and mINP depend on the order of equal distances, which the official code leaves to an
unstable ``np.argsort``. Here ties are broken by gallery index, i.e. the ranking is the one
``np.argsort(distances, kind="stable")`` gives; AP does not depend on it.

The three metrics only need, for each positive (true match), how many valid negatives are at
a distance <= its own (AP) and how many come before it in the stable order (CMC and mINP,
for the first and last positive). That is a counting pass per query row, O(G), next to the
O(G x D) distance product. Per chunk of queries:

1. one comparison marks the valid negatives no farther than the query's farthest positive
   (the only ones that count; usually a few percent of the row);
2. the positives (found once, by binary search in the gallery sorted by pid) and the marked
   negatives get an int64 key ``(row, float32 order bits of the distance, gallery index)``,
   i.e. their place in the stable ranking, and each list is sorted;
3. two binary searches of each positive's key among the negatives' keys give both counts.

The chunk's rows are split into as many blocks as torch has threads, ranked side by side
(numpy and torch release the GIL), so the ranking uses the cores the GEMM used.

Memory of a chunk: ``chunk_size x gallery`` float32 distances, a boolean mask of the same
shape (both reused from chunk to chunk) and arrays over the marked negatives; never
``query x gallery``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from bau.errors import DatasetError
from bau.metrics.distance import one_cpu_thread, squared_euclidean_chunks, squared_norms
from bau.metrics.rerank import reranked_distance_chunks

#: Distances per chunk when ``chunk_size`` is not given (64 MB of float32 plus a 16 MB mask).
CHUNK_ELEMENTS = 1 << 24

ArrayLike = torch.Tensor | np.ndarray | Sequence[int]


def evaluate_rank(
    qf: torch.Tensor | np.ndarray,
    gf: torch.Tensor | np.ndarray,
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
    max_rank: int = 50,
    chunk_size: int | None = None,
    rerank: bool = False,
) -> dict[str, Any]:
    """mAP, mINP and CMC of query features ``qf`` (Q x D) against gallery features ``gf`` (G x D).

    Works on the features' device (GPU if they are there). ``chunk_size`` queries are ranked
    at a time (default: as many as fit in ``CHUNK_ELEMENTS`` distances); the result does not
    depend on it. ``rerank=True`` ranks by k-reciprocal re-ranked distances
    (:func:`bau.metrics.rerank.reranked_distance_chunks`, see its memory needs).

    Returns ``{"mAP": float, "mINP": float, "cmc": np.ndarray of max_rank floats,
    "num_valid_queries": int}``, fractions in [0, 1]. Raises DatasetError if no query has a
    valid match.
    """
    qf, gf = _as_features(qf, "qf"), _as_features(gf, "gf")
    if qf.shape[1] != gf.shape[1]:
        raise ValueError(f"query features are {qf.shape[1]}-d but gallery features {gf.shape[1]}-d")
    gf = gf.to(qf.device)
    q_norms, g_norms = squared_norms(qf), squared_norms(gf)
    # Finite features with finite squared norms give finite distances: checking them here
    # spares a pass over every chunk of distances.
    for name, norms in (("qf", q_norms), ("gf", g_norms)):
        if not bool(torch.isfinite(norms).all()):
            raise ValueError(f"{name} contains NaN or infinity (non-finite features?)")
    chunk_size = chunk_size or max(1, CHUNK_ELEMENTS // max(1, gf.shape[0]))
    if rerank:
        chunks = reranked_distance_chunks(qf, gf, chunk_size=chunk_size)
    else:  # each chunk is ranked before the next is computed, so they can share memory
        chunks = squared_euclidean_chunks(qf, gf, chunk_size, reuse=True, q_norms=q_norms, g_norms=g_norms)
    return _evaluate_chunks(chunks, q_pids, g_pids, q_camids, g_camids, max_rank, check_finite=False)


def evaluate_distances(
    distances: torch.Tensor | np.ndarray | Iterable[torch.Tensor],
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
    max_rank: int = 50,
) -> dict[str, Any]:
    """The metrics of :func:`evaluate_rank` from given distances (smaller = more similar).

    ``distances`` is a Q x G matrix or an iterable of row chunks (C x G tensors, queries in
    order), e.g. from :func:`bau.metrics.distance.squared_euclidean_chunks`. They are
    compared as float32 (the official distance matrix is float32, so its ties are float32
    ties). Raises ValueError on NaN or infinite distances.
    """
    if isinstance(distances, (torch.Tensor, np.ndarray)):
        distances = [torch.as_tensor(distances)]
    return _evaluate_chunks(distances, q_pids, g_pids, q_camids, g_camids, max_rank, check_finite=True)


def _evaluate_chunks(
    chunks: Iterable[torch.Tensor], q_pids, g_pids, q_camids, g_camids, max_rank: int, check_finite: bool
) -> dict[str, Any]:
    acc: _RankAccumulator | None = None
    # Computing a chunk uses torch's threads (the GEMM); ranking it, as many Python threads on
    # row blocks, each with one torch thread: its many small or bandwidth-bound steps lose
    # more to OpenMP wake-ups than they gain, badly so on a busy machine, and the numpy steps
    # have no threads of their own.
    workers = torch.get_num_threads()
    with ThreadPoolExecutor(max_workers=max(1, workers - 1), initializer=torch.set_num_threads, initargs=(1,)) as pool:
        for chunk in chunks:
            with one_cpu_thread(chunk.device):
                if acc is None:
                    parallel = pool if workers > 1 and chunk.device.type == "cpu" else None
                    acc = _RankAccumulator(
                        q_pids, g_pids, q_camids, g_camids, max_rank, chunk.device, parallel, workers
                    )
                acc.update(chunk, check_finite)
    if acc is None:
        raise ValueError("no distances given (empty query set)")
    return acc.result()


class _RankAccumulator:
    """Sums of AP, INP and the first-match histogram over the chunks of one query set."""

    def __init__(
        self,
        q_pids,
        g_pids,
        q_camids,
        g_camids,
        max_rank: int,
        device: torch.device,
        pool: ThreadPoolExecutor | None = None,
        workers: int = 1,
    ) -> None:
        if max_rank < 1:
            raise ValueError(f"max_rank must be >= 1, got {max_rank}")
        q_pids, q_cams = _as_labels(q_pids, device), _as_labels(q_camids, device)
        g_pids, g_cams = _as_labels(g_pids, device), _as_labels(g_camids, device)
        if len(q_pids) != len(q_cams) or len(g_pids) != len(g_cams):
            raise ValueError(
                f"{len(q_pids)} query pids but {len(q_cams)} query camids, "
                f"{len(g_pids)} gallery pids but {len(g_cams)} gallery camids"
            )
        self.num_query, self.num_gallery = len(q_pids), len(g_pids)
        self.positives = _PairsByQuery(*_same_pid_pairs(q_pids, g_pids, q_cams, g_cams, same_cam=False), self.num_query)
        self.junk = _PairsByQuery(*_same_pid_pairs(q_pids, g_pids, q_cams, g_cams, same_cam=True), self.num_query)
        self.max_rank = max_rank
        self.done = 0
        self.ap_sum = 0.0
        self.inp_sum = 0.0
        self.num_valid = 0
        self.first_match = torch.zeros(max_rank, dtype=torch.int64, device=device)
        self.mask = torch.zeros(0, dtype=torch.bool, device=device)  # grown to the largest chunk, reused
        self.pool = pool  # ranks row blocks of a chunk side by side (CPU)
        self.workers = workers if pool is not None else 1

    def update(self, dist: torch.Tensor, check_finite: bool = True) -> None:
        start, stop = self.done, self.done + dist.shape[0]
        if dist.dim() != 2 or dist.shape[1] != self.num_gallery or stop > self.num_query:
            raise ValueError(
                f"distance chunk of shape {tuple(dist.shape)} does not fit {self.num_query} queries "
                f"x {self.num_gallery} gallery items (rows {start}..{stop})"
            )
        self.done = stop
        # float32 as the official distance matrix: ties are float32 ties.
        dist = dist.detach().to(self.first_match.device, torch.float32).contiguous()
        if check_finite and dist.numel():
            low, high = torch.aminmax(dist)  # NaN propagates; one pass instead of isfinite
            if not (torch.isfinite(low) and torch.isfinite(high)):
                raise ValueError("distances contain NaN or infinity (non-finite features?)")
        if self.mask.numel() < dist.numel():
            self.mask = torch.empty(dist.numel(), dtype=torch.bool, device=dist.device)
        size = self.num_gallery
        block = min(max_block_rows(size), -(-len(dist) // self.workers))
        blocks = [(offset, dist[offset : offset + block]) for offset in range(0, len(dist), block)]
        jobs = [
            (rows, start + offset, self.mask[offset * size : (offset + len(rows)) * size]) for offset, rows in blocks
        ]
        if self.pool is not None and len(jobs) > 1:
            futures = [self.pool.submit(self._block_metrics, *job) for job in jobs[1:]]
            results = [self._block_metrics(*jobs[0])] + [future.result() for future in futures]
        else:
            results = [self._block_metrics(*job) for job in jobs]
        for ap, inp, first_rank in results:  # in row order: the sums do not depend on timing
            self.ap_sum += float(ap.sum())
            self.inp_sum += float(inp.sum())
            self.num_valid += len(ap)
            self.first_match += torch.bincount(first_rank[first_rank < self.max_rank], minlength=self.max_rank)

    def _block_metrics(
        self, dist: torch.Tensor, start: int, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stop = start + len(dist)
        positives = self.positives.flat_indices(start, stop, self.num_gallery)
        _, junk = self.junk.flat_indices(start, stop, self.num_gallery)
        return _chunk_metrics(dist, *positives, junk, mask)

    def result(self) -> dict[str, Any]:
        if self.done != self.num_query:
            raise ValueError(f"distances were given for {self.done} of {self.num_query} queries")
        if self.num_valid == 0:
            raise DatasetError(
                f"none of the {self.num_query} queries has a valid match in the gallery of "
                f"{self.num_gallery} items (same pid from another camera): check the query/gallery split"
            )
        cmc = self.first_match.cpu().numpy().cumsum() / self.num_valid
        return {
            "mAP": self.ap_sum / self.num_valid,
            "mINP": self.inp_sum / self.num_valid,
            "cmc": cmc.astype(np.float64),
            "num_valid_queries": self.num_valid,
        }


class _PairsByQuery:
    """(query, gallery) index pairs sorted by query, sliceable by a range of queries."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, num_query: int) -> None:
        self.rows, self.cols = rows, cols
        counts = torch.bincount(rows, minlength=num_query)
        self.offsets = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]).tolist()

    def flat_indices(self, start: int, stop: int, num_gallery: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Chunk-local rows and ascending flat indices ``row * num_gallery + col`` of queries start..stop."""
        part = slice(self.offsets[start], self.offsets[stop])
        rows = self.rows[part] - start
        return rows, rows * num_gallery + self.cols[part]


def _same_pid_pairs(q_pids, g_pids, q_cams, g_cams, same_cam: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(query, gallery) pairs of equal pid and equal (``same_cam``) or other camera.

    Row-major with ascending gallery index in a row (the stable sort keeps it), so that
    their flat indices are sorted.
    """
    g_sorted, g_by_pid = torch.sort(g_pids, stable=True)  # ascending gallery index within a pid
    lo = torch.searchsorted(g_sorted, q_pids, side="left")
    count = torch.searchsorted(g_sorted, q_pids, side="right") - lo
    rows = torch.repeat_interleave(torch.arange(len(q_pids), device=q_pids.device), count)
    within = torch.arange(len(rows), device=q_pids.device) - (torch.cumsum(count, 0) - count)[rows]
    cols = g_by_pid[lo[rows] + within]
    keep = (g_cams[cols] == q_cams[rows]) == same_cam
    return rows[keep], cols[keep]


def _chunk_metrics(
    dist: torch.Tensor, pos_rows: torch.Tensor, pos_flat: torch.Tensor, junk_flat: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AP, INP and 0-based first-match rank of each query of the chunk that has a positive.

    ``pos_rows``/``pos_flat``: chunk row and flat index (``row * G + col``, ascending) of
    every positive; ``junk_flat``: flat indices of the same-pid same-camera items; ``mask``:
    a scratch boolean buffer of at least ``dist.numel()`` entries. At most
    ``max_block_rows(G)`` rows (the rank keys are 63-bit).
    """
    n_rows, n_cols = dist.shape
    num_pos = torch.bincount(pos_rows, minlength=n_rows)
    valid = num_pos > 0
    if not bool(valid.any()):
        empty = torch.zeros(0, dtype=torch.float64, device=dist.device)
        return empty, empty, torch.zeros(0, dtype=torch.int64, device=dist.device)
    col_bits = _col_bits(n_cols)
    any_col = (1 << col_bits) - 1  # a key's column bits all set: after every item of its distance
    pos_dist = dist.view(-1).index_select(0, pos_flat)
    # Positives in ranking order. Rows stay grouped, so pos_rows still fits.
    pos_key = _sort(_rank_key(pos_dist.clone(), pos_flat, _row_term(pos_rows, n_cols, col_bits), col_bits))
    row_start = torch.cumsum(num_pos, 0) - num_pos  # index in pos_key of each row's first positive
    farthest = torch.full((n_rows,), -torch.inf, device=dist.device).scatter_reduce_(0, pos_rows, pos_dist, "amax")
    neg_key, neg_start = _near_negative_keys(dist, farthest, pos_flat, junk_flat, mask, col_bits)

    # The counting pass: both key lists are sorted, so "how many negatives of its row rank
    # before positive j" is one binary search per positive.
    neg_base = neg_start[pos_rows]
    neg_before = torch.searchsorted(neg_key, pos_key) - neg_base  # in the stable order
    neg_le = torch.searchsorted(neg_key, pos_key | any_col, right=True) - neg_base  # distance <= its own
    pos_le = torch.searchsorted(pos_key, pos_key | any_col, right=True) - row_start[pos_rows]

    # sklearn's AP: equal distances form one threshold, so positive j's precision counts
    # every item at a distance <= its own.
    ap = torch.zeros(n_rows, dtype=torch.float64, device=dist.device)
    ap.index_add_(0, pos_rows, pos_le.double() / (pos_le + neg_le).double())

    # CMC and mINP: the first and last positive's place in the stable order.
    first, last = row_start[valid], row_start[valid] + num_pos[valid] - 1
    n_pos = num_pos[valid]
    first_rank = neg_before[first]
    last_rank = n_pos + neg_before[last]
    return ap[valid] / n_pos.double(), n_pos.double() / last_rank.double(), first_rank


def max_block_rows(num_gallery: int) -> int:
    """The most rows :func:`_chunk_metrics` takes at once with ``num_gallery`` columns."""
    return 1 << (31 - _col_bits(num_gallery))


def _col_bits(n_cols: int) -> int:
    bits = max(1, (n_cols - 1).bit_length())
    if bits > 30:
        raise ValueError(f"a gallery of {n_cols} items is too large to rank (at most 2**30)")
    return bits


def _rank_key(values: torch.Tensor, flat: torch.Tensor, row_term: torch.Tensor, col_bits: int) -> torch.Tensor:
    """int64 keys ordered as (row, float32 value, column), i.e. each row's stable ranking.

    Layout: row in the top ``31 - col_bits`` bits, the value's 32 order bits, the column in
    the low ``col_bits`` bits; equal values (ties) differ only by column. ``values`` (a
    scratch copy: overwritten) and ``flat`` (``row * n_cols + col``) of each item;
    ``row_term``: :func:`_row_term` of its row. In-place steps: fresh arrays of this size
    cost more in page faults than the arithmetic.
    """
    key = _monotone_key(values).to(torch.int64).bitwise_left_shift_(col_bits)
    return key.add_(flat).add_(row_term)


def _row_term(rows: torch.Tensor, n_cols: int, col_bits: int) -> torch.Tensor:
    """What turns ``monotone_key << col_bits`` plus a flat index into a rank key, for rows ``rows``:
    the row in the top bits, minus ``row * n_cols`` (flat index - that = column), plus 2**31
    shifted (monotone keys start at -2**31)."""
    return rows * ((1 << (32 + col_bits)) - n_cols) + (1 << (31 + col_bits))


def _near_negative_keys(
    dist: torch.Tensor,
    farthest: torch.Tensor,
    pos_flat: torch.Tensor,
    junk_flat: torch.Tensor,
    mask: torch.Tensor,
    col_bits: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted rank keys of the negatives no farther than their row's farthest positive (the
    only ones that can change a metric) and the index of each row's first one."""
    n_rows, n_cols = dist.shape
    near = mask[: dist.numel()]
    _less_equal_rows(dist, farthest, near.view(n_rows, n_cols))
    near[junk_flat] = False
    near[pos_flat] = False
    flat = _true_indices(near)
    # Ascending flat indices: each row's are one run, found by binary search of the row starts.
    starts = torch.searchsorted(flat, torch.arange(n_rows + 1, device=dist.device) * n_cols)
    row_term = _repeat(_row_term(torch.arange(n_rows, device=dist.device), n_cols, col_bits), starts.diff())
    key = _rank_key(dist.view(-1).index_select(0, flat), flat, row_term, col_bits)
    return _sort(key), starts[:-1]


def _less_equal_rows(values: torch.Tensor, bounds: torch.Tensor, out: torch.Tensor) -> None:
    """``out = values <= bounds[:, None]`` (a pass over the whole chunk).

    On CPU numpy's comparison: torch's broadcast comparison into booleans runs several times
    slower there (about 1.3 ns against 0.25 ns an entry, torch 2.x).
    """
    if values.device.type == "cpu":
        np.less_equal(values.numpy(), bounds.numpy()[:, None], out=out.numpy())
    else:
        torch.le(values, bounds[:, None], out=out)


def _true_indices(mask: torch.Tensor) -> torch.Tensor:
    """Ascending indices of the True entries of a 1-d boolean ``mask``.

    On CPU numpy's ``flatnonzero``: about 3x faster than torch's ``nonzero`` on the
    few-percent-true masks of the ranking.
    """
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return mask.nonzero().squeeze(1)


def _sort(keys: torch.Tensor) -> torch.Tensor:
    """Ascending ``keys`` (int64). On CPU numpy's sort (vectorised): 5x faster than torch's there."""
    if keys.device.type == "cpu":
        return torch.from_numpy(np.sort(keys.numpy()))
    return torch.sort(keys).values


def _repeat(values: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``values[i]`` repeated ``counts[i]`` times (numpy's ``repeat`` on CPU: 10x faster than torch's)."""
    if counts.device.type == "cpu":
        return torch.from_numpy(np.repeat(values.numpy(), counts.numpy()))
    return torch.repeat_interleave(values, counts)


def _monotone_key(values: torch.Tensor) -> torch.Tensor:
    """int32 keys ordered as the float32 ``values`` (equal floats, equal keys), computed in place
    (``values`` is overwritten)."""
    bits = values.add_(0.0).view(torch.int32)  # + 0.0 turns -0.0 into +0.0
    # IEEE-754: non-negative floats order as their bits, negative ones in reverse.
    return (bits >> 31).bitwise_and_(0x7FFFFFFF).bitwise_xor_(bits)


def _as_features(x: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dim() != 2:
        raise ValueError(f"{name} must be a 2-d (items x dims) array, got shape {tuple(x.shape)}")
    return x.float()


def _as_labels(x: ArrayLike, device: torch.device) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.from_numpy(np.asarray(x, dtype=np.int64))
    return x.to(device, torch.int64).reshape(-1)
