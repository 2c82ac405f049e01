"""The logs ``bau train`` writes into its run folder (whose files :class:`bau.layout.RunDir`
names: the resolved config, the log, the loss and evaluation logs, the checkpoints and the
final summary, written last).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bau.io import write_text
from bau.layout import RunDir

__all__ = ["JsonlLog", "RunDir", "file_logging", "quiet_logging"]


class JsonlLog:
    """Records of a JSON-lines file, one per line, each with a 1-based ``epoch``.

    Records are buffered in memory and the whole file is rewritten atomically by
    :meth:`flush` (at the end of each epoch, with the checkpoint), so the file never holds
    half a line. :meth:`resume` drops records past the checkpoint's epoch: a resumed run
    rewrites those epochs and never duplicates a line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []

    def resume(self, completed_epochs: int) -> None:
        self.records = []
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    if record["epoch"] <= completed_epochs:
                        self.records.append(record)
        self.flush()

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def flush(self) -> None:
        write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))


@contextlib.contextmanager
def file_logging(path: Path, level: int = logging.INFO) -> Iterator[None]:
    """Copy the log records of the ``bau`` loggers to ``path`` (appended) while active."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bau")
    previous_level = logger.level
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()


@contextlib.contextmanager
def quiet_logging(level: int = logging.WARNING) -> Iterator[None]:
    """Only warnings and errors of the ``bau`` loggers while active: the log of the ranks
    other than 0 of a multi-process run, which would repeat rank 0's."""
    logger = logging.getLogger("bau")
    previous_level = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous_level)
