"""Squared Euclidean distances of re-identification features, as the reference evaluator computes them.

The official evaluator (``bau/evaluators.py``, ``pairwise_distance``) builds
``|q|^2 + |g|^2 - 2 q.g`` in float32 with ``addmm_``; the same operations here give the same
numbers, so equal distances (ties) are the same ties. For L2-normalised features this is
``2 - 2 cos``. Used by the ranking metrics (:mod:`bau.metrics.rank`) and the re-ranking
(:mod:`bau.metrics.rerank`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """One torch intra-op thread inside, on CPU (other devices: no change).

    For many small or bandwidth-bound ops (norms by blocks, the ranking's counting): they
    lose more to OpenMP thread wake-ups than threads gain, badly so on a shared, busy
    machine. Only the distance GEMM gains from threads.
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def squared_norms(x: torch.Tensor, rows_per_block: int = 64) -> torch.Tensor:
    """``x.pow(2).sum(1)`` (the reference's expression, same values), a block of rows at a time.

    The squares go into one small reused block: a fresh N x D temporary (or one per block)
    costs more in page faults than the arithmetic.
    """
    out = x.new_empty(len(x))
    block = x.new_empty((min(rows_per_block, len(x)), x.shape[1]))
    with one_cpu_thread(x.device):
        for start in range(0, len(x), rows_per_block):
            rows = x[start : start + rows_per_block]
            squares = torch.mul(rows, rows, out=block[: len(rows)])
            torch.sum(squares, 1, out=out[start : start + len(rows)])
    return out


def squared_euclidean(
    q: torch.Tensor,
    g: torch.Tensor,
    *,
    q_norms: torch.Tensor | None = None,
    g_norms: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``|q|^2 + |g|^2 - 2 q.g`` (len(q) x len(g)) as the reference computes it.

    ``q_norms``/``g_norms``: ``squared_norms(q)``/``squared_norms(g)`` if the caller has them
    (e.g. it goes over ``g`` once per chunk of ``q``). ``out``: a float32 ``len(q) x len(g)``
    tensor to write into (reusing memory saves the page faults of a fresh block, a sizeable
    part of the cost next to the product itself).
    """
    q_norms = squared_norms(q) if q_norms is None else q_norms
    g_norms = squared_norms(g) if g_norms is None else g_norms
    dist = torch.add(q_norms[:, None], g_norms[None, :], out=out)
    return dist.addmm_(q, g.t(), beta=1, alpha=-2)


def squared_euclidean_chunks(
    qf: torch.Tensor,
    gf: torch.Tensor,
    chunk_size: int,
    *,
    reuse: bool = False,
    q_norms: torch.Tensor | None = None,
    g_norms: torch.Tensor | None = None,
) -> Iterator[torch.Tensor]:
    """Row chunks (``chunk_size`` queries) of :func:`squared_euclidean` of ``qf`` and ``gf``.

    ``reuse=True`` writes every chunk into the same memory: a chunk is valid only until the
    next one is asked for (for consumers that reduce each chunk at once).
    """
    q_norms = squared_norms(qf) if q_norms is None else q_norms
    g_norms = squared_norms(gf) if g_norms is None else g_norms
    buffer = qf.new_empty((min(chunk_size, len(qf)), len(gf))) if reuse else None
    for start in range(0, qf.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        q = qf[rows]
        out = buffer[: len(q)] if buffer is not None else None
        yield squared_euclidean(q, gf, q_norms=q_norms[rows], g_norms=g_norms, out=out)
