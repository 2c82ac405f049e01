"""Market-1501 (``market1501``) and its DG variant (``market1501dg``), docs/reference.md §1.2-1.3.

Names like ``0002_c1s1_000451_03.jpg``: pid 2, camera 1. Junk images (pid -1) are dropped
everywhere; distractors (pid 0, only in bounding_box_test) stay in the gallery but are
dropped from the DG training set.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from bau.datasets.base import (
    Layout,
    ReIDDataset,
    check_range,
    market_style,
    market_style_counts,
    market_style_dg,
    parse_name,
)
from bau.datasets.stats import DatasetStats

FOLDER = "Market-1501-v15.09.15"
LAYOUT = Layout(
    dataset="market1501",
    title="Market-1501",
    folder=FOLDER,
    image_dirs=(f"{FOLDER}/bounding_box_train", f"{FOLDER}/query", f"{FOLDER}/bounding_box_test"),
    pattern="*.jpg",
    how_to=f"download Market-1501-v15.09.15.zip and unzip it into the data root (it creates {FOLDER}/).",
)
_NAME = re.compile(r"([-\d]+)_c(\d)")
_EXAMPLE = "0002_c1s1_000451_03.jpg"


def _parse(path: Path, *, min_pid: int) -> tuple[int, int] | None:
    pid, cam = parse_name(path, _NAME, "market1501", _EXAMPLE)
    if pid < min_pid:  # -1 = junk (always dropped); 0 = distractor (dropped for DG training)
        return None
    check_range(pid, 0, 1501, "identity", path, "market1501")
    check_range(cam, 1, 6, "camera", path, "market1501")
    return pid, cam - 1


def load(root: Path) -> ReIDDataset:
    return market_style("market1501", LAYOUT, root, partial(_parse, min_pid=0))


def load_dg(root: Path) -> ReIDDataset:
    return market_style_dg("market1501dg", LAYOUT, root, partial(_parse, min_pid=1))


def count(root: Path) -> DatasetStats:
    return market_style_counts(load(root))
