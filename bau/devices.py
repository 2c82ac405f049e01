"""Which torch device a process computes on.

One rule for training, evaluation and feature extraction: ``auto`` is this process's GPU
when one is visible, else the CPU. "This process's GPU" is the ``LOCAL_RANK``-th visible one
(torchrun sets ``LOCAL_RANK`` for every training process; a lone process is 0), and the
visible GPUs are those its lease (:mod:`bau.distributed.lease`) or the scheduler exported
in ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import os

import torch

from bau.errors import ConfigError


def resolve_device(requested: str | torch.device) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a device; asking for CUDA without a GPU is an error."""
    if str(requested) == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise ConfigError(
            f"device {str(requested)!r} was requested but no CUDA device is visible; use device cpu or auto"
        )
    if device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def cpu_native_bf16() -> str | None:
    """The CPU's native bf16 arithmetic (``"AMX"`` or ``"AVX512-BF16"``), None without it.

    Read from torch's cpuinfo at run time. Without these instructions oneDNN emulates bf16 with
    fp32 arithmetic plus conversions, which is slower than plain fp32: CPU bf16 autocast only
    pays where one of them is present.
    """
    cpu = getattr(torch, "cpu", None)
    if cpu is None:
        return None
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    return None
