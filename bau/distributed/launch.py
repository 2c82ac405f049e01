"""Start one training process per GPU through torchrun (``torch.distributed.run``).

``bau train`` leases the run's GPUs first (so ``CUDA_VISIBLE_DEVICES`` holds exactly them),
then, for more than one process, re-runs itself under torchrun; every child inherits the
environment and joins the process group (:func:`bau.distributed.ddp.init_process_group`).
The parent keeps the device locks and the run folder's lock (:mod:`bau.training.lock`,
named to the children by its environment variable) until the children exit.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

from bau.distributed.ddp import env_world_size

log = logging.getLogger(__name__)


def is_worker() -> bool:
    """True in a process started by torchrun (or any launcher that sets WORLD_SIZE)."""
    return "WORLD_SIZE" in os.environ


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_under_torchrun(nproc: int, argv: list[str]) -> int:
    """Run ``python -m bau <argv>`` in ``nproc`` processes on this node; returns the exit status."""
    if is_worker():
        raise RuntimeError(f"already a worker of a {env_world_size()}-process group")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={nproc}",
        "--nnodes=1",
        f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
        "--rdzv-backend=c10d",
        "-m",
        "bau",
        *argv,
    ]
    log.info("starting %d training processes: %s", nproc, " ".join(command))
    return subprocess.run(command, check=False).returncode
