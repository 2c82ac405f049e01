"""Table builders on fixture metrics: cell values, mean ± std, missing values, reported vs
reproduced, captions, configuration, and the `bau table` command."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bau.cli import main as bau_main
from bau.config import deep_merge, fill_defaults, load_schema
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
PAIRED = "BAU − Baseline (paired)"
P2 = TableSpec(name="protocol2", protocol="protocol2", methods=["baseline", "bau"], columns=P2_COLUMNS)
P1 = TableSpec(
    name="protocol1",
    protocol="protocol1",
    methods=["bau"],
    columns=[TargetColumn("prid", "PRID"), TargetColumn("grid", "GRID")],
    sources="M+C2+CS+C3",
)

# The Protocol-2 numbers of BAU's Table 4, one reference method's printed averages, and a
# Table 7 row (another paper table of the same protocol).
REPORTED_CSV = """protocol,target,method,metric,value,paper_table,source
protocol2,cuhk03,bau,mAP,42.8,Table 4,"BAU Table 4, copied in X"
protocol2,cuhk03,bau,rank1,43.9,Table 4,"BAU Table 4, copied in X"
protocol2,msmt17,bau,mAP,24.3,Table 4,"BAU Table 4, copied in X"
protocol2,msmt17,bau,rank1,50.9,Table 4,"BAU Table 4, copied in X"
protocol2,market1501,bau,mAP,77.1,Table 4,"BAU Table 4, copied in X"
protocol2,market1501,bau,rank1,90.4,Table 4,"BAU Table 4, copied in X"
protocol2,average,acl,mAP,45.3,Table 4,ACL average printed in Y
protocol2,average,acl,rank1,59.0,Table 4,ACL average printed in Y
protocol2,average,bau_mobilenetv2,mAP,33.2,Table 7,BAU appendix B.2
protocol1,prid,bau,mAP,,Table 3,unknown
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
    assert list(frame.index) == ["Baseline", "BAU", PAIRED]  # no reported rows on synthetic data
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
    # one seed: the difference without a std, marked as not judged against noise
    assert frame.loc[PAIRED, ("M+MS+CS→C3", "mAP")] == "+13.0 (1/1) ?"
    assert frame.loc[PAIRED, ("M+CS+C3→MS", "mAP")] == MISSING
    assert "one seed (seed 1)" in table.caption
    assert "synthetic benchmark" in table.caption and "not comparable" in table.caption
    assert "which are therefore not shown" in table.caption
    assert "last epoch (no model selection on the test set)" in table.caption
    assert ("Source", "") not in frame.columns


def test_real_data_shows_reported_reproduced_and_difference(reported):
    table = build_table(P2, p2_metrics(synthetic=False, selection="best_of_eval"), reported)
    frame = table.frame
    assert list(frame.index) == ["Baseline", "BAU (reported)", "BAU (reproduced)", "BAU (Δ)", PAIRED]
    assert frame.loc["BAU (reported)", ("M+MS+CS→C3", "mAP")] == "42.8"
    assert frame.loc["BAU (reproduced)", ("M+MS+CS→C3", "mAP")] == "43.0"
    assert frame.loc["BAU (Δ)", ("M+MS+CS→C3", "mAP")] == "+0.2"
    assert frame.loc["BAU (Δ)", ("M+CS+C3→MS", "mAP")] == "-4.3"  # 20.0 - 24.3
    assert frame.loc["BAU (Δ)", ("M+CS+C3→MS", "R-1")] == "-3.9"  # 47.0 - 50.9
    # the paper's averages: (42.8 + 24.3 + 77.1) / 3 = 48.07, (43.9 + 50.9 + 90.4) / 3 = 61.73
    assert frame.loc["BAU (reported)", ("Average", "mAP")] == "48.1"
    assert frame.loc["BAU (reported)", ("Average", "R-1")] == "61.7"
    assert frame.loc["BAU (Δ)", ("Average", "mAP")] == "-2.1"  # 46.0 - 48.0667
    # where the reported row was read: its own column, empty for our rows
    assert frame.loc["BAU (reported)", ("Source", "")] == "BAU Table 4, copied in X"
    assert (frame.loc[["Baseline", "BAU (reproduced)", "BAU (Δ)"], ("Source", "")] == "").all()
    assert "Data: the real datasets." in table.caption
    assert "numbers printed in the paper's Table 4" in table.caption
    assert "the Source column says where each row was read" in table.caption
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
                "methods": ["bau", "baseline", "align", "no_weighting", "no_erasing"],
                "runs": {
                    "cuhk03": {"sources": ["market1501", "msmt17", "cuhksysu"], "targets": ["cuhk03"]},
                    "msmt17": {"sources": ["market1501", "cuhksysu", "cuhk03"], "targets": ["msmt17"]},
                    "market1501": {"sources": ["msmt17", "cuhk03", "cuhksysu"], "targets": ["market1501"]},
                },
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


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("protocol2,cuhk03,bau,rank5,40,Table 4,src", "line 2: metric 'rank5' is not one of mAP, rank1"),
        ("protocol2,cuhk03,bau,mAP,abc,Table 4,src", "line 2: value 'abc' must be a percentage"),
        ("protocol2,cuhk03,bau,mAP,0.428e3,Table 4,src", "line 2: value '0.428e3' must be a percentage"),
    ],
)
def test_reported_csv_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "reported.csv"
    path.write_text("protocol,target,method,metric,value,paper_table,source\n" + line + "\n")
    with pytest.raises(ConfigError, match=message):
        load_reported(path)


def test_reported_csv_duplicates_and_columns(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text("protocol,target,method,metric,value,paper_table,source\np,t,bau,mAP,1,T,s\np,t,bau,mAP,2,T,s\n")
    with pytest.raises(
        ConfigError, match="line 3: a second row for protocol=p, target=t, method=bau, metric=mAP, paper_table=T"
    ):
        load_reported(path)
    path.write_text("protocol,target,method,metric,value,source\n")  # the former header
    with pytest.raises(ConfigError, match="missing column.s. paper_table"):
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
    assert r"{l" + "c" * 8 + r"p{6cm}}" in latex  # the sources wrap
    assert r"BAU Table 4, copied in X \\" in latex


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
    broken = tmp_path / "results" / "protocol2" / "cuhk03" / "bau" / "seed1" / "metrics.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"selection": "last", "synthetic": true}')
    code = bau_main(["table", "protocol2", "--config", str(config_path), "--results", str(tmp_path / "results")])
    assert code == 2
    assert f"{broken} has no 'summary'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- reported numbers


def test_reference_rows_show_published_averages_on_real_data(reported):
    spec = TableSpec(**{**P2.__dict__, "references": ["acl", "renorm"]})
    table = build_table(spec, p2_metrics(synthetic=False), reported)
    frame = table.frame
    # ReNorm has no number in this csv: no row; ACL's comes first, as in the paper's tables
    assert list(frame.index) == [
        "ACL (ECCV'22) (reported)",
        "Baseline",
        "BAU (reported)",
        "BAU (reproduced)",
        "BAU (Δ)",
        PAIRED,
    ]
    acl = frame.loc["ACL (ECCV'22) (reported)"]
    assert (acl["Average", "mAP"], acl["Average", "R-1"]) == ("45.3", "59.0")
    assert acl["M+MS+CS→C3", "mAP"] == MISSING  # only the average is printed
    assert acl["Source", ""] == "ACL average printed in Y"
    assert "ACL (ECCV'22): published results the paper compares against, for reference." in table.caption
    # on synthetic data neither the reference rows nor the Source column
    synthetic = build_table(spec, p2_metrics(synthetic=True), reported)
    assert list(synthetic.frame.index) == ["Baseline", "BAU", PAIRED]
    assert "which are therefore not shown" in synthetic.caption


def test_printed_average_is_the_reported_average(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text(
        REPORTED_CSV + "protocol2,average,bau,mAP,50.0,Table 4,printed\n"
    )  # fabricated: the printed average differs from the mean of the targets (48.07)
    frame = build_table(P2, p2_metrics(synthetic=False), load_reported(path)).frame
    assert frame.loc["BAU (reported)", ("Average", "mAP")] == "50.0"
    assert frame.loc["BAU (Δ)", ("Average", "mAP")] == "-4.0"  # 46.0 - 50.0
    assert frame.loc["BAU (reported)", ("Average", "R-1")] == "61.7"  # none printed: the mean
    assert frame.loc["BAU (reported)", ("Source", "")] == "BAU Table 4, copied in X; printed"


def test_paper_tables_select_the_reported_numbers(reported):
    spec = TableSpec(**{**P2.__dict__, "paper": ["Table 7"], "references": ["acl", "bau_mobilenetv2"]})
    table = build_table(spec, p2_metrics(synthetic=False), reported)
    # Table 4's numbers (BAU's, ACL's) are not this table's: only Table 7's reference row
    assert list(table.frame.index) == ["BAU (MobileNetV2) (reported)", "Baseline", "BAU", PAIRED]
    assert table.frame.loc["BAU (MobileNetV2) (reported)", ("Average", "mAP")] == "33.2"
    assert "numbers printed in the paper's Table 7" in table.caption
    assert "Δ" not in table.caption  # nothing of ours is compared
    none = build_table(TableSpec(**{**P2.__dict__, "paper": ["Table 8"]}), p2_metrics(synthetic=False), reported)
    assert list(none.frame.index) == ["Baseline", "BAU", PAIRED]
    assert "The paper reports none of these numbers" in none.caption
    assert "no reported-numbers file" in build_table(P2, p2_metrics(synthetic=False)).caption


def test_default_title_names_the_paper_tables():
    assert build_table(TableSpec(**{**P2.__dict__, "paper": ["Table 4"]}), {}).title == "Protocol-2 (paper Table 4)"
    ablation = TableSpec(**{**P2.__dict__, "kind": "ablation", "paper": ["Table 6", "Fig. 5a"]})
    assert build_table(ablation, {}).title == "Ablation (Protocol-2) (paper Table 6 and Fig. 5a)"


def test_reported_copies_in_several_tables_must_agree(tmp_path):
    path = tmp_path / "reported.csv"
    header = "protocol,target,method,metric,value,paper_table,source\n"
    path.write_text(header + "p3,m,bau,mAP,79.5,Table 4,a\np3,m,bau,mAP,79.5,Table 5,b\n")
    assert len(load_reported(path)) == 2  # the same cell in two tables, agreeing
    path.write_text(header + "p3,m,bau,mAP,79.5,Table 4,a\np3,m,bau,mAP,78.5,Table 5,b\n")
    with pytest.raises(
        ConfigError, match=r"copies of p3/m/bau/mAP disagree: Table 4 79.5 \(line 2\), Table 5 78.5 \(line 3\)"
    ):
        load_reported(path)
    path.write_text(header + "p3,m,bau,mAP,79.5,,a\n")
    with pytest.raises(ConfigError, match="line 2: every number needs its paper_table and a source"):
        load_reported(path)


# The transcription of the paper (BAU, NeurIPS 2024): (protocol, target, method,
# paper table) -> (mAP, R-1), None where the paper gives one metric only.
PAPER_CELLS = {
    **{
        ("protocol1", t, "bau", "Table 3"): v
        for t, v in {
            "prid": (77.2, 68.4),
            "grid": (68.1, 59.8),
            "viper": (74.6, 66.1),
            "ilids": (88.7, 83.7),
            "average": (77.2, 69.5),
        }.items()
    },
    **{
        ("protocol2", t, "bau", "Table 4"): v
        for t, v in {
            "cuhk03": (42.8, 43.9),
            "msmt17": (24.3, 50.9),
            "market1501": (77.1, 90.4),
            "average": (48.1, 61.7),
        }.items()
    },
    **{
        ("protocol3", t, "bau", "Table 4"): v
        for t, v in {
            "cuhk03": (50.6, 51.8),
            "msmt17": (26.8, 54.3),
            "market1501": (79.5, 91.1),
            "average": (52.3, 65.7),
        }.items()
    },
    **{
        ("protocol3", t, m, "Table 5"): v
        for m, values in {
            "baseline": [(39.2, 38.9), (18.9, 44.8), (68.3, 86.3)],
            "aug_ce": [(32.1, 31.9), (18.0, 41.7), (63.1, 83.8)],
            "align": [(41.8, 42.2), (23.1, 47.4), (73.8, 87.4)],
            "align_uniform": [(46.9, 47.4), (25.3, 51.1), (78.1, 89.5)],
            "bau": [(50.6, 51.8), (26.8, 54.3), (79.5, 91.1)],
        }.items()
        for t, v in zip(("cuhk03", "msmt17", "market1501"), values)
    },
    ("protocol2", "average", "baseline_mobilenetv2", "Table 7"): (26.1, 38.0),
    ("protocol2", "average", "bau_mobilenetv2", "Table 7"): (33.2, 45.7),
    ("protocol2", "average", "baseline_arcface", "Table 7"): (36.8, 50.3),
    ("protocol2", "average", "bau_arcface", "Table 7"): (44.6, 59.3),
    ("protocol3", "market1501", "no_weighting", "Fig. 5a"): (78.3, None),
    ("protocol3", "market1501", "bau", "Fig. 5a"): (79.5, None),
    **{
        (p, "average", "acl", "Table 3" if p == "protocol1" else "Table 4"): v
        for p, v in {"protocol1": (75.2, 66.6), "protocol2": (45.3, 59.0), "protocol3": (49.3, 62.7)}.items()
    },
    **{
        (p, "average", "renorm", "Table 3" if p == "protocol1" else "Table 4"): v
        for p, v in {"protocol1": (78.2, 71.2), "protocol2": (47.3, 63.1), "protocol3": (52.4, 67.2)}.items()
    },
}
PROJECT_CSV = Path(__file__).resolve().parents[2] / "config" / "reported.csv"
PAPER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "paper.yaml"


def test_project_reported_csv_holds_every_known_cell_with_its_source():
    frame = load_reported(PROJECT_CSV)
    known = frame.dropna(subset=["value"]).set_index(["protocol", "target", "method", "paper_table", "metric"])
    expected = {
        (*key, metric): value
        for key, pair in PAPER_CELLS.items()
        for metric, value in zip(("mAP", "rank1"), pair)
        if value is not None
    }
    assert known["value"].to_dict() == expected  # every cell, nothing else
    sources = known["source"]
    assert sources.str.contains(r"Table \d|Fig\. 5a|appendix B\.2").all()
    assert sources.loc[("protocol3", "cuhk03", "aug_ce", "Table 5", "mAP")].endswith(
        "github.com/leezhuole/Manifold-Aware-Person-Re-Identification results/ablationEuclideanPaper.csv"
    )
    # the two copies disagree on iLIDs' mAP; the source says which was kept and why
    ilids = sources.loc[("protocol1", "ilids", "bau", "Table 3", "mAP")]
    assert "88.1" in ilids and "88.7" in ilids and "CMDG" in ilids and "DSM-CLIP" in ilids
    assert "appendix B.3" in sources.loc[("protocol3", "average", "bau", "Table 4", "mAP")]


def test_project_reported_averages_agree_with_their_targets():
    """A printed average is the mean of the unrounded per-target numbers, rounded: within 0.1
    of the mean of the printed ones. It is why iLIDs' mAP is 88.7, not CMDG's 88.1 (77.0)."""
    frame = load_reported(PROJECT_CSV).dropna(subset=["value"])
    checked = 0
    for (protocol, method, metric, table), group in frame.groupby(["protocol", "method", "metric", "paper_table"]):
        values = group.set_index("target")["value"]
        if "average" in values and len(values) > 1:
            targets = values.drop("average")
            assert abs(values["average"] - targets.mean()) <= 0.1 + 1e-9, (protocol, method, metric, table)
            checked += 1
    assert checked == 6  # BAU's P-1, P-2, P-3 averages, mAP and R-1
    ilids_81 = frame.query("protocol == 'protocol1' and method == 'bau' and metric == 'mAP' and target != 'average'")
    assert ilids_81["value"].replace(88.7, 88.1).mean() == pytest.approx(77.0)


def paper_metrics(results: Path, config: dict) -> None:
    """Fabricated real-data metrics for every run the paper configuration's tables read."""
    for entry in config["tables"].values():
        protocol = entry["protocol"]
        for run in config["protocols"][protocol]["runs"].values():
            for target in run["targets"]:
                for method in entry["methods"]:
                    splits = 2 if protocol == "protocol1" else 1
                    metrics = metrics_dict([0.5] * splits, [0.6] * splits, synthetic=False, selection="best_of_eval")
                    write_results(results, protocol, target, method, metrics)


def test_bau_table_shows_every_reported_cell_with_its_source(tmp_path):
    """`bau table` with the paper configuration on (fabricated) real-data metrics: every known
    cell of config/reported.csv is in the csv, md and tex of a table, beside its source."""
    from bau.config import load_workflow_config
    from bau.report import labels

    config = load_workflow_config(PAPER_CONFIG)
    results, out = tmp_path / "results", tmp_path / "tables"
    paper_metrics(results, config)
    outputs = {}
    for name in config["tables"]:
        args = ["table", name, "--config", str(PAPER_CONFIG), "--results", str(results), "--out-dir", str(out)]
        assert bau_main(args) == 0
        csv = pd.read_csv(out / f"{name}.csv", index_col=0, dtype=str, keep_default_na=False)
        outputs[name] = (csv, (out / f"{name}.md").read_text(), (out / f"{name}.tex").read_text())
    unseen = []
    for row in load_reported(PROJECT_CSV).dropna(subset=["value"]).itertuples(index=False):
        shown = False
        for name, entry in config["tables"].items():
            if entry["protocol"] != row.protocol or row.paper_table not in entry["paper"]:
                continue
            spec = table_spec(config, name)
            columns = {c.target: c.label for c in spec.columns} | {"average": "Average"}
            label = f"{labels.method_label(row.method)} (reported)"
            metric = labels.METRIC_LABELS[row.metric]
            for variant, pair in spec.rows.items():  # a pairs table: the method's row and side
                if row.method in pair:
                    label, metric = f"{variant} (reported)", f"{spec.pair_labels[pair.index(row.method)]} {metric}"
            csv, markdown, latex = outputs[name]
            if label not in csv.index or row.target not in columns:
                continue
            assert csv.loc[label, f"{columns[row.target]} {metric}"] == f"{row.value:.1f}"
            assert row.source in csv.loc[label, "Source"]
            assert row.source in markdown and latex_text(row.source) in latex
            shown = True
        if not shown:
            unseen.append(row)
    assert unseen == []
    # the reproduced side: 50.0 everywhere, so Δ = 50.0 - reported
    csv = outputs["ablation_loss"][0]
    assert csv.loc["+ Aug. (identity losses) (Δ)", "M+MS+CS→C3 mAP"] == "+17.9"  # 50.0 - 32.1
    assert outputs["protocol3"][0].loc["ReNorm (ECCV'24) (reported)", "Average R-1"] == "67.2"
    titles = {name: text.splitlines()[0] for name, (_, text, _) in outputs.items()}
    assert titles["protocol1"] == "# Protocol-1 (paper Table 3)"
    assert titles["protocol3"] == "# Protocol-3 (paper Table 4)"
    assert "Protocol-3 (paper Table 5)" in titles["ablation_loss"]
    assert "Protocol-3 (paper Table 8)" in titles["ablation_augment"]


def test_table_formats_do_not_import_the_table_builder():
    import subprocess
    import sys

    code = "import sys, bau.report.table_formats; assert 'bau.report.tables' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_row_source_names_a_cells_longer_source_once(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text(
        REPORTED_CSV.replace(
            'msmt17,bau,mAP,24.3,Table 4,"BAU Table 4, copied in X"',
            'msmt17,bau,mAP,24.3,Table 4,"BAU Table 4, copied in X; Z prints 24.2"',
        )
    )
    frame = build_table(P2, p2_metrics(synthetic=False), load_reported(path)).frame
    assert frame.loc["BAU (reported)", ("Source", "")] == "BAU Table 4, copied in X; Z prints 24.2"


# ---------------------------------------------------------------------------- pairs (Table 7)

T7 = TableSpec(
    name="table7",
    protocol="protocol2",
    methods=["baseline_mobilenetv2", "bau_mobilenetv2", "baseline_pcl", "bau_pcl"],
    columns=P2_COLUMNS,
    kind="pairs",
    rows={"MobileNetV2": ("baseline_mobilenetv2", "bau_mobilenetv2"), "PCL": ("baseline_pcl", "bau_pcl")},
    paper=["Table 7"],
)
T7_REPORTED = """protocol,target,method,metric,value,paper_table,source
protocol2,average,baseline_mobilenetv2,mAP,26.1,Table 7,BAU appendix B.2 text
protocol2,average,baseline_mobilenetv2,rank1,38.0,Table 7,BAU appendix B.2 text
protocol2,average,bau_mobilenetv2,mAP,33.2,Table 7,BAU appendix B.2 text
protocol2,average,bau_mobilenetv2,rank1,45.7,Table 7,BAU appendix B.2 text
protocol2,average,bau,mAP,48.1,Table 4,BAU Table 4
"""


def t7_metrics(synthetic: bool) -> dict:
    # fabricated: MobileNetV2 baseline mAP 20/30/40 % (mean 30.0), BAU 30/40/50 % (mean 40.0)
    metrics = {}
    for column, base in zip(P2_COLUMNS, (0.2, 0.3, 0.4)):
        metrics[(column.target, "baseline_mobilenetv2")] = metrics_dict(base, base + 0.1, synthetic=synthetic)
        metrics[(column.target, "bau_mobilenetv2")] = metrics_dict(base + 0.1, base + 0.2, synthetic=synthetic)
    metrics[("cuhk03", "bau_pcl")] = metrics_dict(0.55, 0.65, synthetic=synthetic)
    return metrics


def test_pairs_table_puts_a_variants_two_runs_side_by_side_with_the_reported_averages(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text(T7_REPORTED)
    table = build_table(T7, t7_metrics(synthetic=False), load_reported(path))
    frame = table.frame
    assert list(frame.index) == ["MobileNetV2 (reported)", "MobileNetV2 (reproduced)", "MobileNetV2 (Δ)", "PCL"]
    assert list(frame.columns[:4]) == [
        ("M+MS+CS→C3", "Baseline mAP"),
        ("M+MS+CS→C3", "Baseline R-1"),
        ("M+MS+CS→C3", "BAU mAP"),
        ("M+MS+CS→C3", "BAU R-1"),
    ]
    assert frame.columns[-1] == ("Source", "")
    ours, theirs, delta = (frame.loc[f"MobileNetV2 ({k})"] for k in ("reproduced", "reported", "Δ"))
    assert (ours["M+CS+C3→MS", "Baseline mAP"], ours["M+CS+C3→MS", "BAU R-1"]) == ("30.0", "50.0")
    assert [ours["Average", c] for c in ("Baseline mAP", "Baseline R-1", "BAU mAP", "BAU R-1")] == [
        "30.0",
        "40.0",
        "40.0",
        "50.0",
    ]
    assert [theirs["Average", c] for c in ("Baseline mAP", "Baseline R-1", "BAU mAP", "BAU R-1")] == [
        "26.1",
        "38.0",
        "33.2",
        "45.7",
    ]
    # 30.0 - 26.1, 40.0 - 38.0, 40.0 - 33.2, 50.0 - 45.7
    assert [delta["Average", c] for c in ("Baseline mAP", "Baseline R-1", "BAU mAP", "BAU R-1")] == [
        "+3.9",
        "+2.0",
        "+6.8",
        "+4.3",
    ]
    assert theirs["M+MS+CS→C3", "BAU mAP"] == MISSING and delta["M+MS+CS→C3", "BAU mAP"] == MISSING
    assert theirs["Source", ""] == "BAU appendix B.2 text" and ours["Source", ""] == ""
    # PCL: one row of ours, the baseline not run yet; Table 4's BAU number is not this table's
    pcl = frame.loc["PCL"]
    assert (pcl["M+MS+CS→C3", "BAU mAP"], pcl["M+MS+CS→C3", "Baseline mAP"]) == ("55.0", MISSING)
    assert pcl["Average", "BAU mAP"] == MISSING  # two targets missing
    assert "48.1" not in to_markdown(table)
    assert "numbers printed in the paper's Table 7" in table.caption and "Δ = reproduced − reported." in table.caption
    assert "its Baseline and BAU runs side by side" in table.caption
    assert "MobileNetV2: Baseline (MobileNetV2) / BAU (MobileNetV2)" in table.caption
    assert "BAU appendix B.2 text" in to_latex(table) and "Baseline mAP" in to_csv(table).splitlines()[0]


def test_pairs_table_on_synthetic_data_shows_no_reported_number(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text(T7_REPORTED)
    table = build_table(T7, t7_metrics(synthetic=True), load_reported(path))
    assert list(table.frame.index) == ["MobileNetV2", "PCL"]
    assert ("Source", "") not in table.frame.columns
    assert table.frame.loc["MobileNetV2", ("Average", "BAU mAP")] == "40.0"
    assert "these numbers are not comparable with the paper's, which are therefore not shown" in table.caption
    assert "26.1" not in to_markdown(table)


def test_pairs_table_spec_reads_rows_and_checks_them_against_methods():
    rows = {"MobileNetV2": ["baseline", "bau"]}
    config = workflow_config(
        t7={"protocol": "protocol2", "kind": "pairs", "methods": ["baseline", "bau"], "rows": rows}
    )
    spec = table_spec(config, "t7")
    assert spec.kind == "pairs" and spec.rows == {"MobileNetV2": ("baseline", "bau")}
    assert spec.pair_labels == ("Baseline", "BAU")  # the schema's default
    config["tables"]["norows"] = {"protocol": "protocol2", "kind": "pairs", "methods": ["bau"]}
    with pytest.raises(ConfigError, match=r"tables.norows is of kind 'pairs' but has no 'rows'"):
        table_spec(config, "norows")
    config["tables"]["extra"] = {**config["tables"]["t7"], "methods": ["baseline", "bau", "align"]}
    with pytest.raises(ConfigError, match=r"tables.extra.rows names the methods baseline, bau but .*lists align"):
        table_spec(config, "extra")


def test_paper_table7_pairs_every_variant_without_and_with_bau():
    from bau.config import load_workflow_config

    config = load_workflow_config(PAPER_CONFIG)
    spec = table_spec(config, "table7")
    assert spec.kind == "pairs" and spec.paper == ["Table 7"]
    assert list(spec.rows) == ["MobileNetV2", "ViT-B/16", "ArcFace", "PCL"]
    assert set(spec.methods) <= set(config["protocols"]["protocol2"]["methods"])
    variants = {}
    for label, (without, with_bau) in spec.rows.items():
        base, bau = (fill_defaults(deep_merge(config["run"], config["methods"][m])) for m in (without, with_bau))
        assert base["method"]["strong_view"] is False and bau["method"]["strong_view"] is True
        assert (base["model"], base["method"]["id_loss"]) == (bau["model"], bau["method"]["id_loss"])
        variants[label] = (bau["model"]["arch"], bau["method"]["id_loss"]["name"])
    assert variants == {
        "MobileNetV2": ("mobilenetv2", "ce"),
        "ViT-B/16": ("vitbase", "ce"),
        "ArcFace": ("resnet50", "arcface"),
        "PCL": ("resnet50", "pcl"),
    }
    # Table 7's reported averages are this table's only: the Protocol-2 table no longer shows them
    assert "Table 7" not in config["tables"]["protocol2"]["paper"]
