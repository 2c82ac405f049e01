"""The paper's reported numbers (config/reported.csv), shown beside ours on real data.

Columns: protocol, target, method, metric, value, source. ``value`` is a percentage as the
paper prints it, empty where the number is not known; ``metric`` is a key of the metrics
JSON summary (``mAP``, ``rank1``); ``source`` says where the number comes from.
"""

from __future__ import annotations

import os

import pandas as pd

from bau.errors import ConfigError
from bau.report.labels import METRIC_LABELS

COLUMNS = ["protocol", "target", "method", "metric", "value", "source"]
KEY = ["protocol", "target", "method", "metric"]

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
            f"{path}, line {line[first]}: metric '{frame.at[first, 'metric']}' is not one of "
            f"{', '.join(METRIC_LABELS)}"
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
    duplicated = frame.duplicated(KEY, keep="first")
    if duplicated.any():
        first = duplicated.idxmax()
        key = ", ".join(f"{k}={frame.at[first, k]}" for k in KEY)
        raise ConfigError(f"{path}, line {line[first]}: a second row for {key}; keep one")
    return frame.assign(value=values.astype(float))
