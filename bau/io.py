"""Atomic file output: nothing the pipeline writes is ever half-written.

Every writer creates a temporary file in the destination folder and renames it over the
destination (atomic on POSIX), so a killed job leaves either the old file or nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread starts.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync and rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates files readable by the owner only; give them the usual mode.
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=False, default=_json_default)
        handle.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as handle:
        return json.load(handle)


def write_yaml(path: str | os.PathLike, data: Any) -> None:
    with atomic_open(path) as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


def read_yaml(path: str | os.PathLike) -> Any:
    with open(path) as handle:
        return yaml.safe_load(handle)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def torch_save(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` through a temporary file, so an interrupted save never replaces a good one."""
    import torch

    with atomic_open(path, "wb") as handle:
        torch.save(obj, handle)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, Paths: the values metrics and reports are made of.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
