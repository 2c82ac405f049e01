"""Checkpoint files (format ``bau-checkpoint-v1``), below the models and the trainer.

A checkpoint is a plain dict of tensors, dicts, lists and primitives, written atomically
with :func:`bau.io.torch_save` and read back with ``torch.load(weights_only=True)``: loading
one never executes code from the file, and a file that would need to is refused.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from bau.errors import TrainingError
from bau.io import torch_save

FORMAT = "bau-checkpoint-v1"

# What torch's weights-only unpickler names when a file holds an object it will not build.
_UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")
_UNPICKLER_DETAIL = re.compile(r"WeightsUnpickler error:\s*(\S[^\n]*)")


def save_checkpoint(path: str | os.PathLike, checkpoint: dict[str, Any]) -> None:
    """Write ``checkpoint`` to ``path`` atomically (a killed save leaves the previous file)."""
    torch_save(path, {"format": FORMAT, **checkpoint})


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing anything else."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several unrelated types for a damaged file
        raise _unreadable(path, err) from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise TrainingError(f"{path} is not a {FORMAT} checkpoint (found {found!r})")
    return checkpoint


def _unreadable(path: Path, err: Exception) -> TrainingError:
    """The error for a file torch would not load: refused content or a damaged file.

    torch's own message advises loading with ``weights_only=False``, which would run code from
    the file; it is not repeated here.
    """
    message = str(err)
    unsafe = _UNSAFE_GLOBAL.search(message) if isinstance(err, pickle.UnpicklingError) else None
    if unsafe:
        return TrainingError(
            f"refused to load {path}: it holds a pickled Python object ({unsafe.group(1)}), not only the "
            f"tensors and plain values of a {FORMAT} checkpoint, and building it could run code from the "
            "file. Use a checkpoint written by `bau train`: re-create it by training, or obtain one from a "
            "source you trust"
        )
    if isinstance(err, pickle.UnpicklingError):
        detail = _UNPICKLER_DETAIL.search(message)
        message = detail.group(1).strip() if detail else "not a torch file"
    return TrainingError(
        f"cannot read checkpoint {path}: {message.rstrip('. ')}. The file is damaged or not a checkpoint: re-create it "
        "with `bau train` (in a run folder, delete the damaged checkpoints to restart that run) or obtain "
        "an intact copy"
    )
