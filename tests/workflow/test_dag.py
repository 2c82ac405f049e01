"""The workflow's job graph, from dry runs through snakemake's Python API: what the default
and the paper configuration run, the targets, the GPU cap and configuration errors."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import update_config

from bau.config import config_hash, fill_defaults, load_schema, resolve_run
from tests.workflow.helpers import DEFAULT_CONFIG, OTHER_TABLES, PAPER_CONFIG, dry_run, write_config


def _load(path):
    return yaml.safe_load(path.read_text())


def test_default_config_plans_the_claims_with_three_seeds(workdir):
    plan = dry_run(workdir, ["all_tables"])
    # protocol2: 3 runs x 2 methods x 3 seeds; ablation_loss (protocol2's cuhk03 run): 2
    # methods of its own x 3 seeds (bau and baseline are protocol2's runs).
    assert plan.counts == {
        "synth": 1,
        "verify": 4,  # the folders of market1501, msmt17, cuhk03, cuhksysu
        "run_config": 18 + 6,
        "train": 18 + 6,
        "evaluate": 18 + 6,
        "settings": 1,
        "table_protocol": 1,
        "table_ablation": 1,
        "figure_loss_curves": 3 + 1,
        "figure_cmc": 2,
        "figure_align_uniform": 2,
        "figure_tsne": 2,
        "figure_retrieval": 3,
        "source_features": 2 * 3,
        "all_tables": 1,
    }
    assert plan.rules() == plan.counts
    assert "splits" not in plan.counts  # no small dataset is read


def test_other_tables_complete_the_synthetic_benchmark(workdir):
    plan = dry_run(workdir, ["all_tables"], configfiles=[DEFAULT_CONFIG, OTHER_TABLES])
    # protocol1: 1 run x 1 method, 4 targets; protocol2: 3 runs x 2 methods x 3 seeds;
    # protocol3: 3 x 1; ablation_loss (protocol2's cuhk03 run): 2 methods of its own x 3 seeds
    # (bau and baseline are protocol2's runs); ablation: 5 methods of its own (bau: protocol2's).
    assert plan.counts == {
        "synth": 1,
        # One report per dataset folder the runs read; each name (a *dg variant too) is checked in it.
        "verify": 9,
        "splits": 4,
        "run_config": 1 + 18 + 3 + 6 + 5,
        "train": 1 + 18 + 3 + 6 + 5,
        "evaluate": 4 + 18 + 3 + 6 + 5,
        "settings": 1,
        "table_protocol": 3,
        "table_ablation": 3,
        "figure_loss_curves": 1 + 3 + 3 + 1 + 1,
        "figure_cmc": 6,
        "figure_align_uniform": 6,
        "figure_tsne": 4,
        "figure_retrieval": 4 + 3 + 3,
        # t-SNE of the first run of each protocol table, per method: its sources' features.
        "source_features": 4 + 2 * 3 + 3,
        "all_tables": 1,
    }
    assert plan.rules() == plan.counts  # one log event per planned job
    tables = {job.wildcards["table"] for job in plan.of("table_protocol") + plan.of("table_ablation")}
    assert tables == {"protocol1", "protocol2", "protocol3", "ablation_loss", "ablation_weighting", "ablation_augment"}


def test_paper_config_plans_the_paper_benchmark(workdir):
    plan = dry_run(workdir, ["all_tables"], configfiles=[PAPER_CONFIG])
    counts = plan.counts
    assert "synth" not in counts  # real data
    # P-1: one run (4 targets); P-2: 3 runs x (baseline, bau and Table 7's 4 variants x
    # baseline/BAU); P-3: 3 runs x 10 methods (bau and the ablations, which the paper runs on
    # Protocol-3).
    assert counts["train"] == 1 + 3 * (2 + 8) + 30
    assert counts["run_config"] == 61
    assert counts["evaluate"] == 4 + 3 * (2 + 8) + 30
    assert (counts["table_protocol"], counts["table_ablation"], counts["table_pairs"]) == (3, 3, 1)
    assert [job.wildcards["table"] for job in plan.of("table_pairs")] == ["table7"]
    assert (counts["figure_cmc"], counts["figure_align_uniform"]) == (7, 7)  # one per table
    assert counts["verify"] == 9  # every dataset folder of the paper's protocols, each name checked in it
    assert counts["splits"] == 4
    runs = {(j.wildcards["protocol"], j.wildcards["run"], j.wildcards["method"]) for j in plan.of("train")}
    assert {("protocol3", t, "aug_ce") for t in ("cuhk03", "msmt17", "market1501")} <= runs
    assert ("protocol3", "msmt17", "no_erasing") in runs and ("protocol2", "msmt17", "no_erasing") not in runs
    assert {p for p, _, _ in runs} == {"protocol1", "protocol2", "protocol3"}  # nothing of the default's
    table7 = {
        (t, m) for p, t, m in runs if p == "protocol2" and m.endswith(("mobilenetv2", "vitbase", "arcface", "pcl"))
    }
    assert len(table7) == 3 * 8 and ("market1501", "bau_vitbase") in table7


def test_paper_runs_have_the_reference_iterations(workdir):
    settings = fill_defaults(_load(PAPER_CONFIG), load_schema())
    iters = {
        (protocol, run): resolve_run(settings, protocol, run, "bau")["train"]["iters"]
        for protocol in ("protocol1", "protocol2", "protocol3")
        for run in settings["protocols"][protocol]["runs"]
    }
    assert iters == {
        ("protocol1", "all"): 500,
        ("protocol2", "cuhk03"): 500,
        ("protocol2", "msmt17"): 200,
        ("protocol2", "market1501"): 500,
        ("protocol3", "cuhk03"): 1000,
        ("protocol3", "msmt17"): 400,
        ("protocol3", "market1501"): 1000,
    }
    run = resolve_run(settings, "protocol2", "cuhk03", "bau")
    assert run["model"] == {"arch": "resnet50", "pretrained": "imagenet", "height": 256, "width": 128}
    assert (run["train"]["batch_size"], run["train"]["num_instances"], run["train"]["epochs"]) == (256, 4, 60)
    assert run["train"]["eval_epochs"] == [50, 55, 60]
    assert (run["train"]["gpus"], run["train"]["amp"]) == (2, "fp16")
    assert settings["selection"] == "best_of_eval"


def test_training_jobs_declare_the_configured_resources(workdir):
    plan = dry_run(workdir, ["all_tables"], configfiles=[PAPER_CONFIG], cores=16, resources={"gpu": 4})
    train = plan.of("train")[0]
    assert train.resources["gpu"] == 2
    assert train.resources["mem_mb"] == 64000
    assert train.resources["runtime"] == 2880


@pytest.mark.parametrize(("machine_gpus", "expected"), [("0", 0), ("1", 1), ("4", 2)])
def test_gpu_resource_is_capped_at_the_machine_when_not_given(workdir, monkeypatch, machine_gpus, expected):
    # Snakemake clips a job's resource at the global limit: with no --resources gpu, the
    # limit is this machine's GPU count, so no more GPU jobs start than GPUs exist.
    monkeypatch.setenv("BAU_DEVICE_COUNT", machine_gpus)
    plan = dry_run(workdir, ["protocol3"], configfiles=[PAPER_CONFIG], cores=16)
    assert {job.resources["gpu"] for job in plan.of("train")} == {expected}


def test_cpu_default_trains_without_gpus(workdir):
    plan = dry_run(workdir, ["protocol2"])
    assert {job.resources["gpu"] for job in plan.of("train")} == {0}
    run_config = resolve_run(fill_defaults(_load(DEFAULT_CONFIG), load_schema()), "protocol2", "cuhk03", "bau")
    assert run_config["train"]["gpus"] == 0


def test_protocol_target_builds_only_that_protocol(workdir):
    plan = dry_run(workdir, ["protocol2"])
    assert {job.wildcards["protocol"] for job in plan.of("train")} == {"protocol2"}
    assert plan.counts["train"] == 18
    assert plan.counts["evaluate"] == 18
    assert "table_protocol" not in plan.counts and "splits" not in plan.counts
    # Only the datasets protocol2 reads are verified.
    assert {job.wildcards["folder"] for job in plan.of("verify")} == {"market1501", "msmt17", "cuhk03", "cuhksysu"}


def test_protocol1_trains_once_and_evaluates_four_targets(workdir):
    plan = dry_run(workdir, ["protocol1"], configfiles=[DEFAULT_CONFIG, OTHER_TABLES])
    assert [(j.wildcards["run"], j.wildcards["method"]) for j in plan.of("train")] == [("all", "bau")]
    assert sorted(j.wildcards["target"] for j in plan.of("evaluate")) == ["grid", "ilids", "prid", "viper"]
    assert plan.counts["splits"] == 4


def test_single_target_by_path(workdir):
    plan = dry_run(workdir, ["results/protocol2/cuhk03/bau/seed1/metrics.json"])
    assert plan.counts == {"synth": 1, "verify": 4, "run_config": 1, "train": 1, "evaluate": 1}
    assert plan.of("train")[0].wildcards == {"protocol": "protocol2", "run": "cuhk03", "method": "bau", "seed": "1"}


def test_seeds_multiply_training_and_evaluation_only(workdir):
    config = _load(DEFAULT_CONFIG)
    update_config(config, _load(OTHER_TABLES))
    config["seeds"] = [1, 2, 3]
    config["protocols"]["protocol3"]["seeds"] = [7]
    plan = dry_run(workdir, ["all_tables"], configfiles=[write_config(workdir / "config" / "seeds.yaml", config)])
    # protocol3 (3 runs, 3 evaluations) trains seed 7 only; the others each of 1, 2, 3
    assert plan.counts["train"] == plan.counts["run_config"] == 3 * (1 + 6 + 2 + 5) + 3
    assert plan.counts["evaluate"] == 3 * (4 + 6 + 2 + 5) + 3
    # tables and figures as with one seed; the figures read the first seed's runs
    assert (plan.counts["table_protocol"], plan.counts["figure_tsne"], plan.counts["source_features"]) == (3, 4, 13)
    assert {j.wildcards["seed"] for j in plan.of("source_features")} == {"1", "7"}
    assert {j.wildcards["seed"] for j in plan.of("train") if j.wildcards["protocol"] == "protocol3"} == {"7"}


def test_all_figures_target_builds_no_table(workdir):
    plan = dry_run(workdir, ["all_figures"])
    assert not {"table_protocol", "table_ablation"} & set(plan.counts)
    assert plan.counts["figure_cmc"] == 2  # one per table


def test_config_hash_of_a_run_changes_only_with_its_protocol():
    base = fill_defaults(_load(DEFAULT_CONFIG), load_schema())
    edited = copy.deepcopy(base)
    edited["protocols"]["protocol2"]["runs"]["cuhk03"]["iters"] = 3

    def hashes(settings):
        return {
            (p, r, m): config_hash(resolve_run(settings, p, r, m))
            for p, spec in settings["protocols"].items()
            for r in spec["runs"]
            for m in spec.get("methods", ["bau"])
        }

    before, after = hashes(base), hashes(edited)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("protocol2", "cuhk03", "bau"), ("protocol2", "cuhk03", "baseline")}


def _with(config_path, edit):
    config = _load(config_path)
    edit(config)
    return config


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["protocols"].update(tables=c["protocols"]["protocol3"]),
            "protocol 'tables' has the name of a results folder",
        ),
        (
            lambda c: c["protocols"]["protocol3"]["runs"]["msmt17"].update(targets=["cuhk03"]),
            "target 'cuhk03' is evaluated by runs 'cuhk03' and 'msmt17'",
        ),
        (lambda c: c["protocols"]["protocol2"].update(methods=["bau", "nope"]), "'nope' is not under 'methods'"),
        (lambda c: c["tables"]["protocol2"].update(methods=["no_erasing"]), "method 'no_erasing' is not trained"),
    ],
)
def test_inconsistent_config_is_refused_with_the_key(workdir, edit, message):
    config = write_config(workdir / "config" / "bad.yaml", _with(DEFAULT_CONFIG, edit))
    with pytest.raises(Exception) as error:
        dry_run(workdir, ["all_tables"], configfiles=[config])
    assert message in str(error.value)


def test_schema_violation_is_refused(workdir):
    config = write_config(workdir / "config" / "bad.yaml", _with(DEFAULT_CONFIG, lambda c: c.update(selection="best")))
    with pytest.raises(Exception) as error:
        dry_run(workdir, ["all_tables"], configfiles=[config])
    assert "selection" in str(error.value) and "best_of_eval" in str(error.value)
