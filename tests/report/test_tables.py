"""Table builders on fixture metrics: cell values, mean ± std, missing values, reported vs
reproduced, captions, configuration, and the `bau table` command."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bau.cli import main as bau_main
from bau.config import fill_defaults, load_schema
from bau.errors import BauError, ConfigError
from bau.report.reported import load_reported
from bau.report.table_formats import flat_frame, latex_text, to_csv, to_latex, to_markdown
from bau.report.tables import (
    MISSING,
    TableSpec,
    TargetColumn,
    build_table,
    format_difference,
    format_value,
    method_switches,
    table_spec,
)
from tests.report.fixtures import metrics_dict, write_results

P2_COLUMNS = [
    TargetColumn("cuhk03", "M+MS+CS→C3"),
    TargetColumn("msmt17", "M+CS+C3→MS"),
    TargetColumn("market1501", "MS+CS+C3→M"),
]
P2 = TableSpec(name="protocol2", protocol="protocol2", methods=["baseline", "bau"], columns=P2_COLUMNS)
P1 = TableSpec(
    name="protocol1",
    protocol="protocol1",
    methods=["bau"],
    columns=[TargetColumn("prid", "PRID"), TargetColumn("grid", "GRID")],
    sources="M+C2+CS+C3",
)

REPORTED_CSV = """protocol,target,method,metric,value,source
protocol2,cuhk03,bau,mAP,42.8,"Cho et al., NeurIPS 2024, Table 2"
protocol2,cuhk03,bau,rank1,43.9,"Cho et al., NeurIPS 2024, Table 2"
protocol2,msmt17,bau,mAP,24.3,"Cho et al., NeurIPS 2024, Table 2"
protocol2,msmt17,bau,rank1,50.9,"Cho et al., NeurIPS 2024, Table 2"
protocol2,market1501,bau,mAP,77.1,"Cho et al., NeurIPS 2024, Table 2"
protocol2,market1501,bau,rank1,90.4,"Cho et al., NeurIPS 2024, Table 2"
protocol1,prid,bau,mAP,,"unknown"
"""


@pytest.fixture
def reported(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "reported.csv"
    path.write_text(REPORTED_CSV)
    return load_reported(path)


def p2_metrics(synthetic: bool, selection: str = "last") -> dict:
    return {
        ("cuhk03", "bau"): metrics_dict(0.43, 0.45, synthetic=synthetic, selection=selection),
        ("msmt17", "bau"): metrics_dict(0.2, 0.47, synthetic=synthetic, selection=selection),
        ("market1501", "bau"): metrics_dict(0.75, 0.8868, synthetic=synthetic, selection=selection),
        ("cuhk03", "baseline"): metrics_dict(0.3, 0.31, synthetic=synthetic, selection=selection),
    }


def test_format_value_and_difference():
    assert format_value(42.84) == "42.8"
    assert format_value(42.86, 1.25) == "42.9 ± 1.2"  # one decimal each
    assert format_value(None) == MISSING == "—"
    assert format_value(float("nan")) == MISSING
    assert format_difference(0.2) == "+0.2"
    assert format_difference(-4.3) == "-4.3"
    assert format_difference(None) == MISSING


def test_synthetic_protocol2_cells_missing_values_and_average(reported):
    table = build_table(P2, p2_metrics(synthetic=True), reported)
    frame = table.frame
    assert list(frame.index) == ["Baseline", "BAU"]  # no reported rows on synthetic data
    assert frame.loc["BAU", ("M+MS+CS→C3", "mAP")] == "43.0"
    assert frame.loc["BAU", ("M+MS+CS→C3", "R-1")] == "45.0"
    assert frame.loc["BAU", ("MS+CS+C3→M", "R-1")] == "88.7"  # 88.68
    # (43 + 20 + 75) / 3 = 46.0 ; (45 + 47 + 88.68) / 3 = 60.23
    assert frame.loc["BAU", ("Average", "mAP")] == "46.0"
    assert frame.loc["BAU", ("Average", "R-1")] == "60.2"
    # baseline ran on one target only: the others and its average are dashes
    assert frame.loc["Baseline", ("M+MS+CS→C3", "mAP")] == "30.0"
    assert frame.loc["Baseline", ("M+CS+C3→MS", "mAP")] == MISSING
    assert frame.loc["Baseline", ("Average", "mAP")] == MISSING
    assert "synthetic benchmark" in table.caption and "not comparable" in table.caption
    assert "last epoch (no model selection on the test set)" in table.caption


def test_real_data_shows_reported_reproduced_and_difference(reported):
    table = build_table(P2, p2_metrics(synthetic=False, selection="best_of_eval"), reported)
    frame = table.frame
    assert list(frame.index) == ["Baseline", "BAU (reported)", "BAU (reproduced)", "BAU (Δ)"]
    assert frame.loc["BAU (reported)", ("M+MS+CS→C3", "mAP")] == "42.8"
    assert frame.loc["BAU (reproduced)", ("M+MS+CS→C3", "mAP")] == "43.0"
    assert frame.loc["BAU (Δ)", ("M+MS+CS→C3", "mAP")] == "+0.2"
    assert frame.loc["BAU (Δ)", ("M+CS+C3→MS", "mAP")] == "-4.3"  # 20.0 - 24.3
    assert frame.loc["BAU (Δ)", ("M+CS+C3→MS", "R-1")] == "-3.9"  # 47.0 - 50.9
    # the paper's averages: (42.8 + 24.3 + 77.1) / 3 = 48.07, (43.9 + 50.9 + 90.4) / 3 = 61.73
    assert frame.loc["BAU (reported)", ("Average", "mAP")] == "48.1"
    assert frame.loc["BAU (reported)", ("Average", "R-1")] == "61.7"
    assert frame.loc["BAU (Δ)", ("Average", "mAP")] == "-2.1"  # 46.0 - 48.0667
    assert "Data: the real datasets." in table.caption
    assert "Cho et al., NeurIPS 2024, Table 2" in table.caption
    assert "Δ = reproduced − reported" in table.caption
    assert "best of the evaluation epochs by target-test mAP" in table.caption
    assert "selection on the target test set" in table.caption


def test_reproduced_missing_gives_dashes_beside_reported(reported):
    metrics = {("cuhk03", "bau"): metrics_dict(0.43, 0.45, synthetic=False)}
    frame = build_table(P2, metrics, reported).frame
    assert frame.loc["BAU (reported)", ("MS+CS+C3→M", "mAP")] == "77.1"
    assert frame.loc["BAU (reproduced)", ("MS+CS+C3→M", "mAP")] == MISSING
    assert frame.loc["BAU (Δ)", ("MS+CS+C3→M", "mAP")] == MISSING
    assert frame.loc["Baseline", ("M+MS+CS→C3", "mAP")] == MISSING


def test_protocol1_mean_std_over_splits_and_empty_reported_rows(reported):
    metrics = {
        ("prid", "bau"): metrics_dict([0.5, 0.6], [0.7, 0.8], synthetic=False),  # 55.0 ± 5.0, 75.0 ± 5.0
        ("grid", "bau"): metrics_dict([0.2, 0.3], [0.25, 0.35], synthetic=False),  # 25.0 ± 5.0, 30.0 ± 5.0
    }
    table = build_table(P1, metrics, reported)
    frame = table.frame
    # the reported.csv row of PRID has no value: no reported rows at all
    assert list(frame.index) == ["BAU"]
    assert frame.loc["BAU", ("PRID", "mAP")] == "55.0 ± 5.0"
    assert frame.loc["BAU", ("GRID", "R-1")] == "30.0 ± 5.0"
    assert frame.loc["BAU", ("Average", "mAP")] == "40.0"  # mean of the means, no std
    assert frame.loc["BAU", ("Average", "R-1")] == "52.5"
    assert "mean ± std over the 2 splits of each target" in table.caption
    assert "Trained on M+C2+CS+C3." in table.caption
    assert "Reported" not in table.caption


def test_caption_without_metrics_uses_the_default_data_kind():
    table = build_table(P2, {}, None, synthetic_default=True)
    assert (table.frame == MISSING).all().all()
    assert "synthetic benchmark" in table.caption
    assert "not known yet (no metrics)" in table.caption
    assert "Data: not known yet" in build_table(P2, {}, None).caption
    assert "last epoch" in build_table(P2, {}, None, selection_default="last").caption


def test_mixed_selection_rules_are_named():
    metrics = p2_metrics(synthetic=True)
    metrics[("msmt17", "bau")] = metrics_dict(0.2, 0.4, selection="best_of_eval")
    caption = build_table(P2, metrics).caption
    assert "Model selection: mixed:" in caption
    assert "last epoch" in caption and "target-test mAP" in caption


def test_mixing_synthetic_and_real_metrics_is_an_error():
    metrics = p2_metrics(synthetic=False)
    metrics[("msmt17", "bau")] = metrics_dict(0.2, 0.4, synthetic=True)
    with pytest.raises(BauError, match="synthetic: msmt17/bau"):
        build_table(P2, metrics)


# ---------------------------------------------------------------------------- configuration


def workflow_config(**tables) -> dict:
    config = {
        "data": {"root": "data", "synthetic": True},
        "run": {"model": {"arch": "resnet18"}},
        "methods": {
            "bau": {},
            "baseline": {"method": {"strong_view": False}},
            "align": {"method": {"uniformity": False, "domain": False}},
            "no_weighting": {"method": {"weighting": False}},
            "no_erasing": {"augment": {"erasing": False}},
        },
        "protocols": {
            "protocol1": {
                "runs": {
                    "all": {
                        "sources": ["market1501dg", "cuhk02dg", "cuhk03dg", "cuhksysu"],
                        "targets": ["prid", "grid", "viper", "ilids"],
                    }
                }
            },
            "protocol2": {
                "runs": {
                    "cuhk03": {"sources": ["market1501", "msmt17", "cuhksysu"], "targets": ["cuhk03"]},
                    "msmt17": {"sources": ["market1501", "cuhksysu", "cuhk03"], "targets": ["msmt17"]},
                    "market1501": {"sources": ["msmt17", "cuhk03", "cuhksysu"], "targets": ["market1501"]},
                }
            },
        },
        "tables": tables,
    }
    return fill_defaults(config, load_schema())


def test_table_spec_columns_follow_the_protocols():
    config = workflow_config(
        p1={"protocol": "protocol1", "methods": ["bau"]}, p2={"protocol": "protocol2", "methods": ["baseline", "bau"]}
    )
    p2 = table_spec(config, "p2")
    assert [(c.target, c.label) for c in p2.columns] == [
        ("cuhk03", "M+MS+CS→C3"),
        ("msmt17", "M+CS+C3→MS"),
        ("market1501", "MS+CS+C3→M"),
    ]
    assert p2.sources is None and p2.switches == {} and p2.kind == "protocol"
    p1 = table_spec(config, "p1")
    assert [c.label for c in p1.columns] == ["PRID", "GRID", "VIPeR", "iLIDs"]
    assert p1.sources == "M+C2+CS+C3"
    # a protocol of one run with one target (an ablation on M+MS+CS→C3) keeps the transfer label
    config["protocols"]["ablation"] = {"runs": {"cuhk03": config["protocols"]["protocol2"]["runs"]["cuhk03"]}}
    config["tables"]["abl"] = {"protocol": "ablation", "methods": ["bau"], "kind": "ablation"}
    ablation = table_spec(config, "abl")
    assert [c.label for c in ablation.columns] == ["M+MS+CS→C3"] and ablation.sources is None


def test_table_spec_errors_name_the_table_and_the_choices():
    config = workflow_config(
        p2={"protocol": "protocol2", "methods": ["bau"]}, bad={"protocol": "protocol9", "methods": ["bau"]}
    )
    with pytest.raises(ConfigError, match=r"cfg.yaml has no table 'p3' under 'tables' \(configured: p2, bad\)"):
        table_spec(config, "p3", source="cfg.yaml")
    with pytest.raises(ConfigError, match="tables.bad.protocol 'protocol9' is not under 'protocols'"):
        table_spec(config, "bad")


def test_ablation_switches_keep_what_differs_and_follow_the_strong_view():
    config = workflow_config()
    switches = method_switches(config, ["baseline", "align", "bau"])
    # baseline only turns the strong view off: without it no BAU loss runs (enabled_terms)
    assert switches["baseline"] == {
        "method.strong_view": False,
        "method.alignment": False,
        "method.uniformity": False,
        "method.domain": False,
    }
    assert switches["align"] == {
        "method.strong_view": True,
        "method.alignment": True,
        "method.uniformity": False,
        "method.domain": False,
    }
    assert method_switches(config, ["no_weighting", "bau", "not_configured"]) == {
        "no_weighting": {"method.weighting": False},
        "bau": {"method.weighting": True},
    }


def test_ablation_table_marks_switches():
    config = workflow_config(
        aug={"protocol": "ablation", "kind": "ablation", "methods": ["no_erasing", "bau", "ghost"]}
    )
    config["protocols"]["ablation"] = {"runs": {"cuhk03": config["protocols"]["protocol2"]["runs"]["cuhk03"]}}
    spec = table_spec(config, "aug")
    table = build_table(spec, {("cuhk03", "bau"): metrics_dict(0.4, 0.5)})
    frame = table.frame
    assert frame.loc["BAU w/o random erasing", ("", "Erasing")] == "✗"
    assert frame.loc["BAU", ("", "Erasing")] == "✓"
    assert frame.loc["ghost", ("", "Erasing")] == MISSING  # not configured, not run
    assert frame.loc["ghost", ("M+MS+CS→C3", "mAP")] == MISSING
    assert frame.loc["BAU", ("M+MS+CS→C3", "R-1")] == "50.0"
    # a single target: no Average columns
    assert list(frame.columns) == [("", "Erasing"), ("M+MS+CS→C3", "mAP"), ("M+MS+CS→C3", "R-1")]
    assert "Average" not in table.caption
    assert table.title == "Ablation (ablation)"
    assert "✓/✗: component on/off" in table.caption


# ---------------------------------------------------------------------------- reported.csv


def test_project_reported_csv_holds_the_papers_known_numbers():
    frame = load_reported(Path(__file__).resolve().parents[2] / "config" / "reported.csv")
    known = frame.dropna(subset=["value"]).set_index(["protocol", "target", "method", "metric"])["value"]
    assert known[("protocol2", "cuhk03", "bau", "mAP")] == 42.8
    assert known[("protocol2", "cuhk03", "bau", "rank1")] == 43.9
    assert known[("protocol2", "msmt17", "bau", "mAP")] == 24.3
    assert known[("protocol2", "msmt17", "bau", "rank1")] == 50.9
    assert known[("protocol2", "market1501", "bau", "mAP")] == 77.1
    assert known[("protocol2", "market1501", "bau", "rank1")] == 90.4
    assert known[("protocol3", "msmt17", "bau", "mAP")] == 26.8
    assert known[("protocol3", "msmt17", "bau", "rank1")] == 54.3
    assert len(known) == 8
    assert (frame["source"] != "").all()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("protocol2,cuhk03,bau,rank5,40,src", "line 2: metric 'rank5' is not one of mAP, rank1"),
        ("protocol2,cuhk03,bau,mAP,abc,src", "line 2: value 'abc' must be a percentage"),
        ("protocol2,cuhk03,bau,mAP,0.428e3,src", "line 2: value '0.428e3' must be a percentage"),
    ],
)
def test_reported_csv_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "reported.csv"
    path.write_text("protocol,target,method,metric,value,source\n" + line + "\n")
    with pytest.raises(ConfigError, match=message):
        load_reported(path)


def test_reported_csv_duplicates_and_columns(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text("protocol,target,method,metric,value,source\np,t,bau,mAP,1,s\np,t,bau,mAP,2,s\n")
    with pytest.raises(ConfigError, match="line 3: a second row for protocol=p, target=t, method=bau, metric=mAP"):
        load_reported(path)
    path.write_text("protocol,target,method,value\n")
    with pytest.raises(ConfigError, match="missing column"):
        load_reported(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_reported(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------- formats, CLI


def test_latex_text_escapes_and_symbols():
    assert latex_text("M+MS+CS→C3") == r"M+MS+CS$\to$C3"
    assert latex_text("55.0 ± 5.0") == r"55.0 $\pm$ 5.0"
    assert latex_text("in % of a_b") == r"in \% of a\_b"
    assert latex_text("—") == "---"
    assert latex_text("L_align") == r"$\mathcal{L}_\mathrm{align}$"


def test_formats_render_the_same_cells(reported):
    table = build_table(P2, p2_metrics(synthetic=False), reported)
    csv = pd.read_csv(io.StringIO(to_csv(table)), index_col=0, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(csv, flat_frame(table), check_names=False)
    assert list(csv.columns)[:2] == ["M+MS+CS→C3 mAP", "M+MS+CS→C3 R-1"]
    markdown = to_markdown(table)
    assert markdown.startswith("# Protocol-2\n")
    assert "| BAU (Δ)" in markdown and "+0.2" in markdown and table.caption in markdown
    latex = to_latex(table)
    for command in (
        r"\toprule",
        r"\midrule",
        r"\bottomrule",
        r"\multicolumn{2}{c}{M+MS+CS$\to$C3}",
        r"\label{tab:protocol2}",
    ):
        assert command in latex
    assert r"BAU ($\Delta$) & +0.2 &" in latex


def test_bau_table_command_writes_three_files(tmp_path, reported):
    config = workflow_config(protocol2={"protocol": "protocol2", "methods": ["baseline", "bau"]})
    config_path = tmp_path / "config" / "config.yaml"
    config_path.parent.mkdir()
    config_path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    write_results(results, "protocol2", "cuhk03", "bau", metrics_dict(0.43, 0.45))
    out = tmp_path / "tables"
    code = bau_main(
        ["table", "protocol2", "--config", str(config_path), "--results", str(results), "--out-dir", str(out)]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["protocol2.csv", "protocol2.md", "protocol2.tex"]
    csv = pd.read_csv(out / "protocol2.csv", index_col=0, dtype=str, keep_default_na=False)
    assert csv.loc["BAU", "M+MS+CS→C3 mAP"] == "43.0"
    assert csv.loc["Baseline", "M+MS+CS→C3 mAP"] == MISSING


def test_bau_table_command_rejects_a_broken_metrics_file(tmp_path, capsys):
    config = workflow_config(protocol2={"protocol": "protocol2", "methods": ["bau"]})
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    broken = tmp_path / "results" / "protocol2" / "cuhk03" / "bau" / "metrics.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"selection": "last", "synthetic": true}')
    code = bau_main(["table", "protocol2", "--config", str(config_path), "--results", str(tmp_path / "results")])
    assert code == 2
    assert f"{broken} has no 'summary'" in capsys.readouterr().err
