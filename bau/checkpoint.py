"""Training checkpoints (format ``bau-checkpoint-v1`` of CONTRACTS.md).

A checkpoint is a plain dict of tensors, dicts, lists and primitives, written atomically
with :func:`bau.io.torch_save` and read back with ``torch.load(weights_only=True)``: loading
one never executes code from the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from bau.errors import TrainingError
from bau.io import torch_save

FORMAT = "bau-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike, checkpoint: dict[str, Any]) -> None:
    """Write ``checkpoint`` to ``path`` atomically (a killed save leaves the previous file)."""
    torch_save(path, {"format": FORMAT, **checkpoint})


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing anything else."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several unrelated types for a damaged file
        raise TrainingError(
            f"cannot read checkpoint {path}: {err}. Delete it (and the run folder's other "
            "checkpoints if they are damaged too) to restart the run from scratch"
        ) from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise TrainingError(f"{path} is not a {FORMAT} checkpoint (found {found!r})")
    return checkpoint
