"""Reading the files the figures are drawn from, with errors that name the file.

- training losses: RUN_DIR/losses.jsonl (one record per iteration, written by bau.training.runlog);
- features: the npz of ``bau evaluate --save-features`` (feats, pids, camids, paths, is_query);
- metrics: the metrics JSON of ``bau evaluate``;
- where a file sits in the results layout (``<protocol>/<target or run>/<method>/seed<seed>/FILE``),
  which gives figures their default labels.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bau.errors import BauError
from bau.io import read_json
from bau.layout import is_seed_folder
from bau.report import labels


@dataclass(frozen=True)
class ResultPath:
    """The three folders above a result file: ``results/<protocol>/<target>/<method>/seed<seed>/FILE``
    (``results/runs/<protocol>/<run>/<method>/seed<seed>/FILE`` for training runs); the seed
    folder is skipped where there is one."""

    protocol: str
    target: str
    method: str

    @classmethod
    def of(cls, path: str | Path) -> ResultPath:
        parts = Path(path).resolve().parent.parts[1:]  # [1:]: not the root
        if parts and is_seed_folder(parts[-1]):
            parts = parts[:-1]
        return cls(*("", "", "", *parts)[-3:])


def default_labels(paths: Sequence[str | Path]) -> list[str]:
    """A short label per file: the method, plus the target/run and protocol where they vary."""
    where = [ResultPath.of(p) for p in paths]
    vary_protocol = len({w.protocol for w in where}) > 1
    vary_target = len({w.target for w in where}) > 1
    result = []
    for w in where:
        parts = [labels.protocol_label(w.protocol)] if vary_protocol else []
        parts += [labels.dataset_label(w.target)] if vary_target else []
        parts.append(labels.method_label(w.method))
        result.append(" · ".join(parts))
    return result


def check_labels(given: Sequence[str] | None, paths: Sequence[str | Path]) -> list[str]:
    """``given`` labels (one per input) or the default ones."""
    if given is None:
        return default_labels(paths)
    if len(given) != len(paths):
        raise BauError(f"--labels has {len(given)} label(s) for {len(paths)} input(s); give one per input")
    return list(given)


def load_losses(path: str | Path) -> pd.DataFrame:
    """The per-iteration records of a losses.jsonl, with a global ``step`` column (1-based)."""
    path = Path(path)
    if not path.is_file():
        raise BauError(f"training log {path} does not exist; train the run first (bau train --out {path.parent})")
    try:
        frame = pd.read_json(path, lines=True)
    except ValueError as err:
        raise BauError(f"{path} is not a JSON-lines training log ({err})") from err
    missing = {"epoch", "iter", "loss"} - set(frame.columns)
    if frame.empty or missing:
        raise BauError(
            f"{path} holds no training records"
            + (f" (missing field(s) {', '.join(sorted(missing))})" if missing and not frame.empty else "")
            + "; it is written by bau train, one line per iteration"
        )
    if "step" not in frame.columns:
        frame["step"] = (frame["epoch"] - 1) * frame["iter"].max() + frame["iter"]
    return frame.sort_values("step", kind="stable").reset_index(drop=True)


FEATURE_KEYS = ("feats", "pids", "camids", "paths", "is_query")


def load_features(path: str | Path, required: Sequence[str] = FEATURE_KEYS) -> dict[str, np.ndarray]:
    """The arrays of a features npz; ``required`` keys must be there (``feats`` is N x D)."""
    path = Path(path)
    if not path.is_file():
        raise BauError(f"features file {path} does not exist; write it with bau evaluate ... --save-features {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise BauError(f"{path} is not a readable npz file ({err})") from err
    missing = [key for key in required if key not in arrays]
    if missing:
        raise BauError(
            f"{path} has no {', '.join(missing)} (it holds: {', '.join(arrays) or 'nothing'}); "
            "features files of bau evaluate --save-features hold " + ", ".join(FEATURE_KEYS)
        )
    feats = arrays.get("feats")
    if feats is not None and (feats.ndim != 2 or len(feats) == 0):
        raise BauError(f"{path}: 'feats' must be a non-empty N x D array, not shape {feats.shape}")
    for key in required:
        if key != "feats" and feats is not None and len(arrays[key]) != len(feats):
            raise BauError(f"{path}: '{key}' has {len(arrays[key])} entries for {len(feats)} feature rows")
    return arrays


_METRICS_REQUIRED = [("selection",), ("synthetic",)] + [
    ("summary", metric, stat) for metric in labels.METRIC_LABELS for stat in ("mean", "std")
]


def load_metrics(path: str | Path, required: Sequence[tuple[str, ...]] = ()) -> dict[str, Any] | None:
    """A metrics JSON of ``bau evaluate``, or None when the file does not exist (not run).

    ``required`` adds key paths beyond those every table needs (e.g. ``("cmc",)``).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        metrics = read_json(path)
    except ValueError as err:
        raise BauError(f"{path} is not valid JSON ({err}); delete it and rerun its evaluation") from err
    for keys in [*_METRICS_REQUIRED, *required]:
        node: Any = metrics
        for depth, key in enumerate(keys):
            if not isinstance(node, Mapping) or key not in node:
                raise BauError(
                    f"{path} has no '{'.'.join(keys[: depth + 1])}'; it was not written by bau evaluate of "
                    "this version: delete it and rerun its evaluation"
                )
            node = node[key]
    return metrics
