"""Tables over seeds: every cell mean ± std (ddof=1) over the seeds, Protocol-1's splits within
each seed, and the paired rows (method − baseline per seed), from fabricated metrics files of
three seeds with hand-computed numbers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from bau.cli import main as bau_main
from bau.report.table_formats import latex_text
from bau.report.tables import MISSING, TableSpec, TargetColumn, build_table, format_paired, mean_std
from tests.report.fixtures import metrics_dict, write_results
from tests.report.test_tables import workflow_config

# mAP per seed (fractions); R-1 the same numbers, so both metrics give the same cells.
BAU = {"cuhk03": [0.40, 0.44, 0.42], "msmt17": [0.20, 0.22, 0.24], "market1501": [0.70, 0.70, 0.70]}
BASELINE = {"cuhk03": [0.38, 0.40, 0.45], "msmt17": [0.10, 0.11, 0.12], "market1501": [0.71, 0.71, 0.71]}
C3, MS, M = "M+MS+CS→C3", "M+CS+C3→MS", "MS+CS+C3→M"
PAIRED = "BAU − Baseline (paired)"


def test_mean_std_and_paired_text():
    assert mean_std([2.0, 4.0, -3.0]) == pytest.approx((1.0, 13**0.5))
    assert mean_std([5.0]) == (5.0, None)
    # differences 2, 4, -3: mean 1.0, std sqrt(13) = 3.6, positive on 2 of 3 seeds, within one std
    assert format_paired([2.0, 4.0, -3.0]) == "+1.0 ± 3.6 (2/3) ≈"
    assert format_paired([10.0, 11.0, 12.0]) == "+11.0 ± 1.0 (3/3)"
    assert format_paired([-1.0, -1.0, -1.0]) == "-1.0 ± 0.0 (0/3)"
    assert format_paired([1.5]) == "+1.5 (1/1) ?"  # one seed: no std to judge it by
    assert format_paired([]) == MISSING


@pytest.fixture
def three_seed_table(tmp_path):
    config = workflow_config(protocol2={"protocol": "protocol2", "methods": ["baseline", "bau"]})
    config["seeds"] = [1, 2, 3]
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    for method, values in (("bau", BAU), ("baseline", BASELINE)):
        for target, per_seed in values.items():
            for seed, value in zip((1, 2, 3), per_seed):
                write_results(results, "protocol2", target, method, metrics_dict(value, value), seed=seed)
    out = tmp_path / "tables"
    args = ["table", "protocol2", "--config", str(config_path), "--results", str(results), "--out-dir", str(out)]
    assert bau_main(args) == 0
    csv = pd.read_csv(out / "protocol2.csv", index_col=0, dtype=str, keep_default_na=False)
    return csv, out


def test_cells_are_mean_and_std_over_the_seeds(three_seed_table):
    csv, out = three_seed_table
    # BAU on C3: 40, 44, 42 -> 42.0 ± 2.0; Baseline: 38, 40, 45 -> 41.0 ± sqrt(13) = 3.6
    assert csv.loc["BAU", f"{C3} mAP"] == "42.0 ± 2.0"
    assert csv.loc["Baseline", f"{C3} mAP"] == "41.0 ± 3.6"
    assert csv.loc["BAU", f"{MS} R-1"] == "22.0 ± 2.0"
    assert csv.loc["BAU", f"{M} mAP"] == "70.0 ± 0.0"
    # Average: each seed's mean over the targets (43.33, 45.33, 45.33), then mean ± std
    assert csv.loc["BAU", "Average mAP"] == "44.7 ± 1.2"
    caption = (out / "protocol2.md").read_text()
    assert "mean ± std (ddof=1) over the 3 seeds (1, 2, 3)" in caption
    assert "± over the seeds of each seed's average" in caption


def test_paired_rows_give_the_per_seed_difference_and_wins(three_seed_table):
    csv, out = three_seed_table
    assert list(csv.index) == ["Baseline", "BAU", PAIRED]
    assert csv.loc[PAIRED, f"{C3} mAP"] == "+1.0 ± 3.6 (2/3) ≈"  # 2, 4, -3: noise
    assert csv.loc[PAIRED, f"{MS} mAP"] == "+11.0 ± 1.0 (3/3)"  # 10, 11, 12
    assert csv.loc[PAIRED, f"{M} R-1"] == "-1.0 ± 0.0 (0/3)"  # -1 on every seed
    # per-seed averages: BAU 43.33, 45.33, 45.33; Baseline 39.67, 40.67, 42.67 -> 3.67, 4.67, 2.67
    assert csv.loc[PAIRED, "Average mAP"] == "+3.7 ± 1.0 (3/3)"
    text = (out / "protocol2.md").read_text()
    assert "≈: the mean difference is within one std of the per-seed differences" in text
    assert r"$\approx$" in (out / "protocol2.tex").read_text()
    assert latex_text("≈") == r"$\approx$"


def test_a_missing_seed_empties_the_cell_and_its_paired_difference(tmp_path):
    spec = TableSpec("p2", "protocol2", ["baseline", "bau"], [TargetColumn("cuhk03", C3)], seeds=[1, 2])
    metrics = {
        ("cuhk03", "bau"): [metrics_dict(0.4, 0.4), None],
        ("cuhk03", "baseline"): [metrics_dict(0.3, 0.3), metrics_dict(0.35, 0.35)],
    }
    frame = build_table(spec, metrics).frame
    assert frame.loc["BAU", (C3, "mAP")] == MISSING
    assert frame.loc["Baseline", (C3, "mAP")] == "32.5 ± 3.5"  # 30, 35: std 5 / sqrt(2)
    assert frame.loc[PAIRED, (C3, "mAP")] == MISSING


def test_protocol1_splits_within_each_seed():
    spec = TableSpec(
        "p1", "protocol1", ["bau"], [TargetColumn("prid", "PRID"), TargetColumn("grid", "GRID")], seeds=[1, 2]
    )
    metrics = {
        # seed 1: splits 40, 50 -> 45 (split std 5); seed 2: 50, 70 -> 60 (split std 10)
        ("prid", "bau"): [metrics_dict([0.4, 0.5], [0.4, 0.5]), metrics_dict([0.5, 0.7], [0.5, 0.7])],
        ("grid", "bau"): [metrics_dict([0.1, 0.1], [0.1, 0.1]), metrics_dict([0.2, 0.2], [0.2, 0.2])],
    }
    table = build_table(spec, metrics)
    # seeds 45, 60: mean 52.5, std 15 / sqrt(2) = 10.6; [7.5]: the split std, averaged over seeds
    assert table.frame.loc["BAU", ("PRID", "mAP")] == "52.5 ± 10.6 [7.5]"
    assert table.frame.loc["BAU", ("GRID", "mAP")] == "15.0 ± 7.1 [0.0]"
    # per-seed averages (45 + 10) / 2 = 27.5 and (60 + 20) / 2 = 40: 33.75 ± 8.8
    assert table.frame.loc["BAU", ("Average", "mAP")] == "33.8 ± 8.8"
    assert "each seed's value is the mean over the 2 splits of the target" in table.caption
    assert "[s] is the std over the splits, averaged over the seeds" in table.caption
    assert PAIRED not in table.frame.index  # no baseline in the table


def test_one_seed_keeps_the_split_std_and_says_one_seed():
    spec = TableSpec("p1", "protocol1", ["bau"], [TargetColumn("prid", "PRID")])
    table = build_table(spec, {("prid", "bau"): [metrics_dict([0.4, 0.5], [0.4, 0.5])]})
    assert table.frame.loc["BAU", ("PRID", "mAP")] == "45.0 ± 5.0"
    assert "one seed (seed 1); mean ± std over the 2 splits of each target" in table.caption


def test_caption_names_the_runs_that_ended_still_falling(tmp_path):
    config = workflow_config(protocol2={"protocol": "protocol2", "methods": ["baseline", "bau"]})
    config["seeds"] = [1, 2]
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    for seed, falling, undertrained in ((1, False, True), (2, True, False)):
        write_results(results, "protocol2", "cuhk03", "bau", metrics_dict(0.4, 0.4), seed=seed)
        final = results / "runs" / "protocol2" / "cuhk03" / "bau" / f"seed{seed}" / "final.json"
        final.parent.mkdir(parents=True)
        losses = {"still_falling": falling, "undertrained": undertrained}
        final.write_text(json.dumps({"epochs": 5, "losses": losses}))
    out = tmp_path / "tables"
    args = ["table", "protocol2", "--config", str(config_path), "--results", str(results), "--out-dir", str(out)]
    assert bau_main(args) == 0
    text = (out / "protocol2.md").read_text()
    assert "Runs that ended while their loss was still falling steeply (last-epoch mean CE below 0.9" in text
    assert (
        "still falling steeply (last-epoch mean CE below 0.9 x the previous epoch's; longer training would change their numbers): cuhk03/bau/seed2."
        in text
    )
    assert text.rstrip().endswith(
        "Runs that barely trained (last-epoch mean CE above 0.5 x the first epoch's): cuhk03/bau/seed1."
    )
