"""Run a function in N gloo processes on CPU and collect what each rank returns."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _worker(rank: int, world: int, init_file: str, out_dir: str, fn, args) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        result = fn(rank, world, *args)
        with open(Path(out_dir) / f"{rank}.pkl", "wb") as fh:
            pickle.dump(result, fh)
    finally:
        dist.destroy_process_group()


def run_ranks(fn, world: int = 2, args: tuple = ()) -> list:
    """``fn(rank, world, *args)`` in ``world`` processes; returns the results in rank order."""
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, "init")
        mp.start_processes(_worker, args=(world, init_file, tmp, fn, args), nprocs=world, start_method="spawn")
        results = []
        for r in range(world):
            with open(Path(tmp) / f"{r}.pkl", "rb") as fh:
                results.append(pickle.load(fh))
        return results


def assert_same_step(rank_result: tuple, expected: tuple) -> None:
    """A rank's ``(loss terms, gradients, buffers, memory)`` equal the single process's, to 1e-9.

    The second GeM's exponent (``pool.p``, on a 1x1 map) gets a gradient that is rounding noise
    around 0: it is compared with an absolute tolerance, every other gradient relative to its
    largest entry.
    """
    (r_terms, r_grads, r_buffers, r_memory), (terms, grads, buffers, memory) = rank_result, expected
    for name, value in terms.items():
        assert abs(r_terms[name] - value) <= 1e-9 * max(1.0, abs(value)), name
    assert r_grads.keys() == grads.keys()
    for name, g in grads.items():
        scale = 1.0 if name == "pool.p" else g.abs().max().item()
        assert (r_grads[name] - g).abs().max().item() <= 1e-9 * scale, name
    for name, b in buffers.items():
        torch.testing.assert_close(r_buffers[name], b, rtol=1e-9, atol=1e-12, msg=name)
    torch.testing.assert_close(r_memory, memory, rtol=1e-9, atol=1e-12)
