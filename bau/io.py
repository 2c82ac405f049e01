"""Atomic file output: nothing the pipeline writes is ever half-written.

Every writer creates a temporary file in the destination folder and renames it over the
destination (atomic on POSIX), so a killed job leaves either the old file or nothing (and a
``.NAME.XXXXXXXX.tmp`` file, which :func:`remove_stale_temps` removes on the next run). A full
disk is one :class:`~bau.errors.DiskFullError` naming the file, the bytes it needed and the
free space; the previous version of the file is kept.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from bau.errors import ConfigError, DiskFullError

_TMP_SUFFIX = ".tmp"
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread starts.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, size: int | None = None) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync and rename it to ``path``.

    ``size``: the bytes that will be written, when known: refused at once (nothing written)
    if the disk has less free space, and named in the disk-full message.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if size is not None:
        free = shutil.disk_usage(path.parent).free
        if size > free:
            raise DiskFullError(_disk_full_message(path, size, None, free))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates files readable by the owner only; give them the usual mode.
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as err:
        written = None
        with contextlib.suppress(OSError):
            written = os.path.getsize(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _is_disk_full(err):
            free = shutil.disk_usage(path.parent).free
            raise DiskFullError(_disk_full_message(path, size, written, free)) from err
        raise


def _is_disk_full(err: BaseException | None) -> bool:
    # The OSError may be wrapped (a library re-raising it as RuntimeError, with it as cause).
    while err is not None:
        if isinstance(err, OSError) and err.errno in _DISK_FULL_ERRNOS:
            return True
        if "No space left on device" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def _disk_full_message(path: Path, size: int | None, written: int | None, free: int) -> str:
    if size is not None:
        needed = f"it needs {_bytes(size)}"
    elif written is not None:
        needed = f"it needs at least {_bytes(written)} (written when the disk filled)"
    else:
        needed = "its size is unknown"
    kept = f"the previous {path.name} is unchanged" if path.exists() else f"{path.name} was not written"
    return (
        f"no space left on device to write {path}: {needed}, {_bytes(free)} free on that disk; "
        f"{kept}. Free some space and rerun the same command"
    )


def _bytes(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit} ({count} bytes)"
    return f"{count} bytes"


def remove_stale_temps(folder: str | os.PathLike, names: Iterable[str] | None = None) -> list[Path]:
    """Remove the temporary files :func:`atomic_open` left in ``folder`` (not below it) when its
    process was killed: ``.NAME.XXXXXXXX.tmp``, only of the files ``names`` when given.

    Only safe while no other process writes these files (e.g. under the run folder's lock).
    Returns the removed paths.
    """
    folder = Path(folder)
    prefixes = tuple(f".{name}." for name in names) if names is not None else (".",)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            if (
                entry.name.startswith(prefixes)
                and entry.name.endswith(_TMP_SUFFIX)
                and entry.is_file(follow_symlinks=False)
            ):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return sorted(removed)


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
    """Plain YAML only: a Python tag (``!!python/...``) is a :class:`ConfigError` naming the file."""
    with open(path) as handle:
        try:
            return yaml.safe_load(handle)
        except yaml.YAMLError as err:
            raise ConfigError(yaml_error_message(path, err)) from err


def yaml_error_message(path: str | os.PathLike, err: yaml.YAMLError) -> str:
    """One line for a YAML error of ``path``: what and where."""
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if isinstance(err, yaml.constructor.ConstructorError):
        return (
            f"{path} is not plain YAML{where}: {problem}. Tags that build Python objects are "
            "refused; write plain values (or delete the file to have it written again)"
        )
    return f"{path} is not valid YAML{where}: {problem}"


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def torch_save(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` through a temporary file, so an interrupted save never replaces a good one."""
    import torch

    # Serialised in memory first: the size is known before writing (refused at once on a disk
    # too small, named in the message), and torch's writer would turn a failed write into an
    # unreadable "unexpected pos" RuntimeError.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getbuffer()
    with atomic_open(path, "wb", size=len(data)) as handle:
        handle.write(data)


#: Image modes with no faithful 8-bit RGB form: their value range is unknown (PIL's
#: convert("RGB") clips them to 0..255). 16-bit greyscale (``I;16*``) is scaled instead.
UNREPRESENTABLE_MODES = {"I": "32-bit integer", "F": "32-bit float"}


def image_mode_problem(mode: str) -> str | None:
    """Why images of PIL ``mode`` cannot be used, or None if :func:`to_rgb` converts them."""
    if mode in UNREPRESENTABLE_MODES:
        return (
            f"mode {mode} ({UNREPRESENTABLE_MODES[mode]} pixels) has no faithful 8-bit RGB form; "
            "save it as 8-bit RGB (or 16-bit greyscale PNG)"
        )
    return None


def to_rgb(img: Any) -> Any:
    """A PIL image as 8-bit RGB: 16-bit greyscale scaled to 0..255 (``convert`` would clip it
    to a white image), modes of :data:`UNREPRESENTABLE_MODES` refused with ``ValueError``."""
    problem = image_mode_problem(img.mode)
    if problem:
        raise ValueError(problem)
    if img.mode.startswith("I;16"):
        import numpy as np
        from PIL import Image

        values = np.asarray(img).astype(np.float64)
        return Image.fromarray(np.round(values / 257.0).astype(np.uint8), "L").convert("RGB")  # 65535 -> 255
    return img.convert("RGB")


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, Paths: the values metrics and reports are made of.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
