"""MSMT17 in the Market-style conversion (``msmt17``, ``msmt17dg``), docs/reference.md §1.4-1.5.

Names like ``0012_c15_00045.jpg``: pid 12, camera 15. No identity is filtered.
"""

from __future__ import annotations

import re
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

FOLDER = "MSMT17"
LAYOUT = Layout(
    dataset="msmt17",
    title="MSMT17",
    folder=FOLDER,
    image_dirs=(f"{FOLDER}/bounding_box_train", f"{FOLDER}/query", f"{FOLDER}/bounding_box_test"),
    pattern="*.jpg",
    how_to="request MSMT17 from its authors and convert it to the Market-style layout "
    "(MSMT17/bounding_box_train, query, bounding_box_test with names PPPP_cCC_*.jpg).",
    misnamed={
        "MSMT17_V1": "MSMT17_V1 is the official layout with list files; the parser reads the "
        "Market-style conversion (bounding_box_train, query, bounding_box_test folders) named MSMT17."
    },
)
_NAME = re.compile(r"([-\d]+)_c([-\d]+)")
_EXAMPLE = "0012_c15_00045.jpg"


def _parse(path: Path) -> tuple[int, int]:
    pid, cam = parse_name(path, _NAME, "msmt17", _EXAMPLE)
    check_range(cam, 1, 15, "camera", path, "msmt17")
    return pid, cam - 1


def load(root: Path) -> ReIDDataset:
    return market_style("msmt17", LAYOUT, root, _parse)


def load_dg(root: Path) -> ReIDDataset:
    return market_style_dg("msmt17dg", LAYOUT, root, _parse)


def count(root: Path) -> DatasetStats:
    return market_style_counts(load(root))
