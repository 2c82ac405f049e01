"""Multi-process training (one process per GPU, started by torchrun) with DDP.

The reference trains with DataParallel, whose loss sees the whole batch. BAU's losses are
batch-level (reliability weights, alignment over all same-identity pairs, uniformity, the
domain loss, batch-hard triplet mining) and the memory update is sequential over the batch,
so under DDP every rank gathers the outputs of all ranks, with gradients, and computes the
losses of the *global* batch. Each rank's local features then receive the gradient of the
global loss summed over ranks (all_gather's backward sums), and DDP's gradient averaging
divides that sum by the world size again: the parameter gradient equals the single-process
gradient of the same global batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn

from bau.distributed.sync_bn import convert_sync_batchnorm


def env_world_size() -> int:
    """World size announced by torchrun (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


#: How long a collective waits for the other ranks. Rank 0 evaluates (and writes checkpoints)
#: while the others wait at a barrier, so this bounds one evaluation, not one step.
COLLECTIVE_TIMEOUT = timedelta(hours=2)


def init_process_group(device: torch.device) -> bool:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); True if this call did."""
    if env_world_size() <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, timeout=COLLECTIVE_TIMEOUT)
    return True


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` of every rank in rank order; gradients flow back to each rank."""
    if not is_distributed():
        return tensor
    return torch.cat(dist_fn.all_gather(tensor), dim=0)


@torch.no_grad()
def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` of every rank in rank order (no gradient)."""
    if not is_distributed():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)


def gather_outputs(tensors: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """``gather_with_grad`` for tensors that require grad, ``gather`` for the others."""
    out = []
    for t in tensors:
        if t is None:
            out.append(None)
        elif t.requires_grad:
            out.append(gather_with_grad(t))
        else:
            out.append(gather(t))
    return out


@torch.no_grad()
def broadcast_(tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``tensor`` on every rank with rank ``src``'s (in place; returned)."""
    if is_distributed():
        dist.broadcast(tensor, src)
    return tensor


def wrap_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """SyncBatchNorm (per-view statistics over the global batch) and DDP, when distributed."""
    if not is_distributed():
        return model
    model = convert_sync_batchnorm(model, device)
    device_ids = [device.index] if device.type == "cuda" else None
    # Buffers are already identical on every rank (SyncBN); broadcasting them at each of the
    # two per-view forwards would only cost time.
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
