"""GPU leasing: which physical GPUs a training job may use.

``snakemake --resources gpu=N`` only bounds how many GPUs the running jobs ask for together;
it never tells a job *which* GPU to use, so two concurrent jobs would both pick device 0.
A job therefore leases device ids through one lock file per device: a non-blocking
``flock`` held for the life of the process. The kernel drops the lock when the process exits
for any reason (``kill -9`` included), so a lease can never outlive its holder.

The lease sets ``CUDA_VISIBLE_DEVICES`` before CUDA is initialised. When a scheduler already
assigned devices (SLURM, or the user set ``CUDA_VISIBLE_DEVICES``), nothing is leased.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bau.errors import BauError

log = logging.getLogger(__name__)

#: Pretend device count (tests, or machines where the count must not come from the driver).
DEVICE_COUNT_ENV = "BAU_DEVICE_COUNT"
LOCK_DIR_ENV = "BAU_GPU_LOCK_DIR"


@dataclass
class GpuLease:
    """Device ids held by this process; ``release()`` (or process exit) frees them."""

    devices: list[int]
    assigned_by_scheduler: bool = False
    _handles: list = field(default_factory=list, repr=False)
    _restore: tuple[bool, str | None] = field(default=(False, None), repr=False)  # (set, previous)

    def release(self) -> None:
        """Free the devices and put back the ``CUDA_VISIBLE_DEVICES`` the lease replaced."""
        for handle in self._handles:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        self._handles.clear()
        was_set, previous = self._restore
        if was_set:
            if previous is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = previous
            self._restore = (False, None)

    def __enter__(self) -> GpuLease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def default_lock_dir() -> Path:
    user = os.environ.get("USER") or str(os.getuid())
    return Path(os.environ.get(LOCK_DIR_ENV, f"/tmp/bau-gpu-locks-{user}"))


def visible_device_count() -> int:
    """Number of GPUs on this machine, without initialising a CUDA context."""
    if DEVICE_COUNT_ENV in os.environ:
        return int(os.environ[DEVICE_COUNT_ENV])
    import torch

    # torch asks NVML first and does not create a CUDA context here.
    return torch.cuda.device_count()


def _try_lock(path: Path):
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def lease_gpus(
    count: int,
    *,
    lock_dir: str | os.PathLike | None = None,
    timeout: float = 3600.0,
    poll: float = 2.0,
    set_env: bool = True,
) -> GpuLease:
    """Lease ``count`` GPUs and export them as ``CUDA_VISIBLE_DEVICES``.

    Waits (polling every ``poll`` seconds, up to ``timeout``) while other jobs hold the devices.
    ``count == 0`` leases nothing and hides every GPU, so a CPU job cannot touch one.
    """
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        assigned = [d for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
        if len(assigned) < count:
            raise BauError(
                f"CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']!r} assigns "
                f"{len(assigned)} GPU(s) but the run asks for {count} (train.gpus); "
                "ask the scheduler for more GPUs or lower train.gpus"
            )
        log.info("using scheduler-assigned GPUs %s", ",".join(assigned[:count]) or "none")
        return GpuLease(devices=list(range(count)), assigned_by_scheduler=True)
    if count == 0:
        return _export(GpuLease(devices=[]), set_env)
    total = visible_device_count()
    if count > total:
        raise BauError(
            f"the run asks for {count} GPU(s) (train.gpus) but this machine has {total}; "
            "lower train.gpus (resources.gpus_per_run in the workflow config)"
        )
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        handles, devices = [], []
        for device in range(total):
            handle = _try_lock(lock_dir / f"gpu{device}.lock")
            if handle is not None:
                handles.append(handle)
                devices.append(device)
                if len(devices) == count:
                    break
        if len(devices) == count:
            log.info("leased GPU(s) %s (locks in %s)", devices, lock_dir)
            return _export(GpuLease(devices=devices, _handles=handles), set_env)
        GpuLease(devices=devices, _handles=handles).release()
        if time.monotonic() > deadline:
            raise BauError(
                f"no {count} free GPU(s) among {total} after {timeout:.0f} s (locks in {lock_dir}); "
                "are other jobs holding them? run snakemake with --resources gpu=<GPUs on this machine>"
            )
        time.sleep(poll)


def _export(lease: GpuLease, set_env: bool) -> GpuLease:
    """``CUDA_VISIBLE_DEVICES`` = the leased devices (none: every GPU hidden) until released."""
    if set_env:
        lease._restore = (True, os.environ.get("CUDA_VISIBLE_DEVICES"))
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, lease.devices))
    return lease


def lease_for_device(requested: str) -> contextlib.AbstractContextManager:
    """The lease of a one-GPU job (evaluation, feature extraction) asking for ``--device requested``.

    ``cuda`` (or ``auto`` on a machine with GPUs) leases one GPU, so concurrent jobs never share
    one; ``cpu`` (or ``auto`` without GPUs) hides them all; an explicit ``cuda:N`` is the
    user's choice and leases nothing.
    """
    if requested.startswith("cuda:"):
        return contextlib.nullcontext()
    if requested == "auto":
        return lease_gpus(1 if visible_device_count() > 0 else 0)
    return lease_gpus(1 if requested == "cuda" else 0)
