"""Where a workflow run's time went: wall and CPU seconds summed per rule.

Every rule writes a Snakemake benchmark file (``results/benchmarks/<rule>/...tsv``: wall
seconds ``s``, ``cpu_time``, ``max_rss`` in MB). This sums them per rule, so the fixed cost
of many small jobs shows next to the training time.

    python benchmarks/rule_costs.py [--benchmarks results/benchmarks] [--csv out.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def rule_of(path: Path, root: Path) -> str:
    """The rule a benchmark file belongs to: its first folder under ``root``, or its stem
    for rules with one job (``synth.tsv``)."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else path.stem


def rule_costs(root: Path) -> pd.DataFrame:
    """One row per rule: jobs, summed wall and CPU seconds, the largest peak RSS."""
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise SystemExit(f"{root}: no benchmark files; run the workflow first")
    frames = [pd.read_csv(f, sep="\t").assign(rule=rule_of(f, root)) for f in files]
    runs = pd.concat(frames, ignore_index=True)
    table = runs.groupby("rule").agg(
        jobs=("s", "size"),
        wall_s=("s", "sum"),
        cpu_s=("cpu_time", "sum"),
        max_rss_mb=("max_rss", "max"),
    )
    table = table.sort_values("wall_s", ascending=False)
    table.loc["total"] = [table["jobs"].sum(), table["wall_s"].sum(), table["cpu_s"].sum(), table["max_rss_mb"].max()]
    return table.round(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--csv", type=Path, help="also write the table as CSV")
    args = parser.parse_args(argv)
    table = rule_costs(args.benchmarks)
    print(table.to_markdown())
    if args.csv:
        table.to_csv(args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
