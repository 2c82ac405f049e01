"""CUHK03-NP, detected boxes (``cuhk03``, ``cuhk03dg``), docs/reference.md §1.6-1.7.

Names like ``0001_c1_1.png``: pid 1, camera 1. No identity is filtered. The "labeled"
subset is never read. The DG parser accepts cameras 1-2 only (as the reference asserts).
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

FOLDER = "cuhk03-np"
_BASE = f"{FOLDER}/detected"
LAYOUT = Layout(
    dataset="cuhk03",
    title="CUHK03-NP (detected)",
    folder=FOLDER,
    image_dirs=(f"{_BASE}/bounding_box_train", f"{_BASE}/query", f"{_BASE}/bounding_box_test"),
    pattern="*.png",
    how_to="download CUHK03-NP (the new protocol of Zhong et al.) and unpack it into the data root "
    "as cuhk03-np/detected/ (only the detected boxes are used).",
)
_NAME = re.compile(r"([-\d]+)_c(\d)")
_EXAMPLE = "0001_c1_1.png"


def _parse(path: Path, *, max_cam: int) -> tuple[int, int]:
    pid, cam = parse_name(path, _NAME, "cuhk03", _EXAMPLE)
    check_range(cam, 1, max_cam, "camera", path, "cuhk03")
    return pid, cam - 1


def load(root: Path) -> ReIDDataset:
    return market_style("cuhk03", LAYOUT, root, partial(_parse, max_cam=8))


def load_dg(root: Path) -> ReIDDataset:
    return market_style_dg("cuhk03dg", LAYOUT, root, partial(_parse, max_cam=2))


def count(root: Path) -> DatasetStats:
    return market_style_counts(load(root))
