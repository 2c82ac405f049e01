"""An exclusive lock on a run folder, held by the ``bau train`` process for its whole life.

``RUN_DIR/.train.lock`` is locked with ``flock``: the operating system releases it when the
holder exits, however it exits (``kill -9`` included), so a lock never outlives its process.
A second ``bau train`` on the same folder stops at once, naming the holder's pid, instead of
writing the same logs and checkpoints (e.g. a trainer orphaned by a killed Snakemake and the
rerun's). Under torchrun the parent holds the lock and tells its children through
:data:`HELD_ENV`, so they neither take it again nor wait for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from bau.errors import TrainingError
from bau.io import remove_stale_temps
from bau.layout import RunDir

log = logging.getLogger(__name__)

LOCK_NAME = ".train.lock"
#: Set by the holder for its child processes: the resolved path of the lock file it holds.
HELD_ENV = "BAU_RUN_LOCK"

# Descriptors of the locks this process holds. Forked children (DataLoader workers) close their
# copies at once: a flock lives as long as any copy is open, and a worker outliving a killed
# trainer by a few seconds would keep the folder locked under a dead pid.
_held: set[int] = set()


def _close_held_in_child() -> None:
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


def held_by_parent(run_dir: str | os.PathLike) -> bool:
    """True in a process started by the lock holder of ``run_dir`` (a torchrun child), and in
    ranks other than 0 of a process group started by another launcher (rank 0 takes it)."""
    if os.environ.get(HELD_ENV) == str((Path(run_dir) / LOCK_NAME).resolve()):
        return True
    return os.environ.get("RANK", "0") != "0"


@contextlib.contextmanager
def run_folder_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of ``run_dir`` (created if missing) while active; then remove the
    temporary files that killed writers left in it, since no other trainer can be writing."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = _acquire(path)
    _held.add(fd)
    previous = os.environ.get(HELD_ENV)
    os.environ[HELD_ENV] = str(path.resolve())
    try:
        _remove_stale_temps(RunDir(run_dir))
        yield
    finally:
        if previous is None:
            os.environ.pop(HELD_ENV, None)
        else:
            os.environ[HELD_ENV] = previous
        # Unlinked while still locked: see _acquire.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        _held.discard(fd)
        os.close(fd)


def _acquire(path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").split()
            os.close(fd)
            raise TrainingError(_held_message(path, holder)) from None
        # The holder unlinks the file before it releases the lock, so a lock won on a file that
        # is no longer at `path` protects nothing: try again with the file now there.
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
    return fd


def _held_message(path: Path, holder: list[str]) -> str:
    pid = holder[0] if holder else "unknown"
    host = holder[1] if len(holder) > 1 else socket.gethostname()
    where = "" if host == socket.gethostname() else f" on host {host}"
    stop = f"stop it (kill {pid}{where})" if holder else "stop it"
    return (
        f"{path.parent} is in use by another bau train (pid {pid}{where}, lock file {path}). "
        f"Wait for it to finish or {stop}, then rerun the same command to resume"
    )


def _remove_stale_temps(dirs: RunDir) -> None:
    names = [p.name for p in (dirs.config, dirs.losses, dirs.evals, dirs.final)]
    removed = [
        *remove_stale_temps(dirs.root, names),
        *remove_stale_temps(dirs.checkpoints),
        *remove_stale_temps(dirs.final_evaluation),
    ]
    if removed:
        log.info(
            "removed %d temporary files of an interrupted run: %s", len(removed), ", ".join(p.name for p in removed)
        )
