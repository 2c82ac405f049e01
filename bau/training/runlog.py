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

__all__ = ["STEEP_FALL", "TRAINED_FRACTION", "JsonlLog", "epoch_means", "file_logging", "loss_record", "quiet_logging"]

#: A run "ended while still falling steeply" when the mean cross-entropy of its last epoch is
#: below STEEP_FALL times the previous epoch's: it fell by more than 10 % in its last epoch,
#: so more training would have changed the model (and the numbers of its evaluations).
STEEP_FALL = 0.9
#: A run is "undertrained" when the mean cross-entropy of its last epoch is above
#: TRAINED_FRACTION times the first epoch's: it stopped while learning had barely started
#: (the first epoch's mean is about log(classes), a chance-level classifier).
TRAINED_FRACTION = 0.5
#: The loss term the flags watch: the identity cross-entropy, which every method trains.
WATCHED = "ce"


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


def epoch_means(records: list[dict[str, Any]], terms: tuple[str, ...]) -> dict[int, dict[str, float]]:
    """Epoch -> the mean of each loss term over its iterations (losses.jsonl records; a term
    a method does not use, None or absent, is left out)."""
    sums: dict[int, dict[str, list[float]]] = {}
    for record in records:
        for term in terms:
            value = record.get(term)
            if value is not None:
                sums.setdefault(record["epoch"], {}).setdefault(term, []).append(float(value))
    return {epoch: {t: sum(v) / len(v) for t, v in by_term.items()} for epoch, by_term in sorted(sums.items())}


def loss_record(records: list[dict[str, Any]], terms: tuple[str, ...]) -> dict[str, Any]:
    """final.json's ``losses``: the first- and last-epoch mean of each term, and whether the
    run ended while still falling steeply (:data:`STEEP_FALL`) or barely trained
    (:data:`TRAINED_FRACTION`), both on :data:`WATCHED`."""
    means = epoch_means(records, terms)
    if not means:
        return {"first_epoch": None, "last_epoch": None, "still_falling": False, "undertrained": False, "rule": _rule()}
    epochs = sorted(means)
    first, last = means[epochs[0]], means[epochs[-1]]
    previous = means[epochs[-2]] if len(epochs) > 1 else None
    falling = bool(
        previous is not None
        and WATCHED in last
        and WATCHED in previous
        and last[WATCHED] < STEEP_FALL * previous[WATCHED]
    )
    undertrained = bool(
        len(epochs) > 1 and WATCHED in last and WATCHED in first and last[WATCHED] > TRAINED_FRACTION * first[WATCHED]
    )
    return {
        "first_epoch": {"epoch": epochs[0], **first},
        "last_epoch": {"epoch": epochs[-1], **last},
        "previous_epoch": None if previous is None else {"epoch": epochs[-2], **previous},
        "still_falling": falling,
        "undertrained": undertrained,
        "rule": _rule(),
    }


def _rule() -> str:
    return (
        f"still_falling: last-epoch mean {WATCHED} < {STEEP_FALL} x the previous epoch's; "
        f"undertrained: last-epoch mean {WATCHED} > {TRAINED_FRACTION} x the first epoch's"
    )
