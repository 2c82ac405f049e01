"""Scaling out: GPU leases for concurrent jobs, and multi-process (DDP) training helpers."""

from bau.distributed.lease import GpuLease, lease_gpus

__all__ = ["GpuLease", "lease_gpus"]
