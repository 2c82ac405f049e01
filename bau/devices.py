"""Which torch device a process computes on.

One rule for training, evaluation and feature extraction: ``auto`` is this process's GPU
when one is visible, else the CPU. "This process's GPU" is the ``LOCAL_RANK``-th visible one
(torchrun sets ``LOCAL_RANK`` for every training process; a lone process is 0), and the
visible GPUs are those its lease (:mod:`bau.distributed.lease`) or the scheduler exported
in ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
    """The CPU's native bf16 arithmetic: ``"AMX"``, ``"AVX512-BF16"``, or None.

    Read from torch's cpuinfo at run time. Only AMX makes CPU bf16 autocast pay: with
    AVX512-BF16 alone the default model's step measured slower than in fp32 (oneDNN then
    converts more than it saves; ``benchmarks/default_step_speed.py``), and without either
    bf16 is emulated.
    """
    cpu = getattr(torch, "cpu", None)
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    return None


#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from (and return to) the heap instead of their own mmap.
_KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of unmapping them; True if it took.

    A CPU training step frees and reallocates the same activation and gradient buffers every
    iteration. With glibc's defaults every block above its mmap threshold is a fresh mapping
    whose pages fault in (and are zeroed by the kernel) at first touch: thousands of page faults
    per step, about a tenth of the default model's step. Raising the mmap and trim thresholds
    serves them from the heap again; the process keeps its peak memory, which a training
    process reaches every step anyway. A no-op (False) where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))
