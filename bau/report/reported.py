"""The paper's reported numbers (config/reported.csv), shown beside ours on real data.

Columns: protocol, target, method, metric, value, paper_table, source. ``value`` is a
percentage as printed, empty where the number is not known; ``target`` is a dataset name or
``average`` (the printed average over the protocol's targets); ``metric`` is a key of the
metrics JSON summary (``mAP``, ``rank1``); ``paper_table`` names the paper's table or figure
the cell belongs to (``Table 4``, ``Fig. 5a``); ``source`` says exactly where it was read.
``method`` is a configured method name, or a published method the paper compares against
(``acl``, ``renorm``), shown as a reference row.

A cell may appear in several of the paper's tables (Table 5's full-BAU row repeats Table 4's
Protocol-3 row); those copies must agree.
"""

from __future__ import annotations

import os

import pandas as pd

from bau.errors import ConfigError
from bau.report.labels import METRIC_LABELS

COLUMNS = ["protocol", "target", "method", "metric", "value", "paper_table", "source"]
KEY = ["protocol", "target", "method", "metric", "paper_table"]
CELL = ["protocol", "target", "method", "metric"]  # one number, whichever tables print it
#: ``target`` of a printed average over the protocol's targets.
AVERAGE_TARGET = "average"


def load_reported(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a reported-numbers CSV; ``value`` becomes float (NaN where empty)."""
    if not os.path.isfile(path):
        raise ConfigError(
            f"reported numbers file {path} does not exist; pass --reported with the path of "
            "config/reported.csv (columns: " + ",".join(COLUMNS) + ")"
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}; the header must be {','.join(COLUMNS)}")
    frame = frame[COLUMNS].apply(lambda column: column.str.strip())
    line = frame.index + 2  # 1-based, after the header
    bad_metric = ~frame["metric"].isin(list(METRIC_LABELS))
    if bad_metric.any():
        first = bad_metric.idxmax()
        raise ConfigError(
            f"{path}, line {line[first]}: metric '{frame.at[first, 'metric']}' is not one of {', '.join(METRIC_LABELS)}"
        )
    values = pd.to_numeric(frame["value"].replace("", None), errors="coerce")
    unparsed = values.isna() & (frame["value"] != "")
    out_of_range = (values < 0) | (values > 100)
    if (unparsed | out_of_range).any():
        first = (unparsed | out_of_range).idxmax()
        raise ConfigError(
            f"{path}, line {line[first]}: value '{frame.at[first, 'value']}' must be a percentage "
            "between 0 and 100, or empty where the paper's number is unknown"
        )
    unsourced = (frame["source"] == "") | (frame["paper_table"] == "")
    if unsourced.any():
        first = unsourced.idxmax()
        raise ConfigError(
            f"{path}, line {line[first]}: every number needs its paper_table and a source saying where it was read"
        )
    duplicated = frame.duplicated(KEY, keep="first")
    if duplicated.any():
        first = duplicated.idxmax()
        key = ", ".join(f"{k}={frame.at[first, k]}" for k in KEY)
        raise ConfigError(f"{path}, line {line[first]}: a second row for {key}; keep one")
    frame = frame.assign(value=values.astype(float))
    known = frame.dropna(subset=["value"])
    for _, copies in known.groupby(CELL, sort=False):
        if copies["value"].nunique() > 1:
            cell = "/".join(copies.iloc[0][CELL])
            printed = ", ".join(
                f"{row.paper_table} {row.value:g} (line {line[index]})" for index, row in copies.iterrows()
            )
            raise ConfigError(f"{path}: the copies of {cell} disagree: {printed}; one of them is mistyped")
    return frame
