"""bau.plan: what the workflow asks for, from a configuration, without Snakemake."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from bau.errors import ConfigError
from bau.layout import EvalKey, RunKey
from bau.plan import Plan
from tests.fixtures.configs import REPO, WHOLE_DEFAULT, shipped_config


@pytest.fixture(scope="module")
def plan() -> Plan:
    """The default run with its other tables (config/other_tables.yaml)."""
    return Plan(shipped_config(*WHOLE_DEFAULT), source="config/config.yaml + config/other_tables.yaml")


def test_default_configuration_runs_the_claims_with_three_seeds():
    # protocol2: 3 runs x 2 methods x 3 seeds; ablation_loss: align and align_uniform x 3
    # seeds (its bau and baseline are protocol2's cuhk03 runs).
    plan = Plan(shipped_config(), source="config/config.yaml")
    assert list(plan.tables) == ["protocol2", "ablation_loss"]
    assert len(plan.runs) == len(plan.evaluations) == 18 + 6
    assert {run.protocol for run in plan.runs} == {"protocol2", "ablation_loss"}
    assert {run.seed for run in plan.runs} == {"1", "2", "3"}
    assert len(plan.table_outputs) == 2 * 3


def test_whole_default_configuration(plan):
    # protocol1: 1 run x bau, 4 targets; protocol2: 3 runs x 2 methods x 3 seeds; protocol3:
    # 3 x bau; ablation_loss: align and align_uniform x 3 seeds (its bau and baseline are
    # protocol2's cuhk03 runs); ablation: 5 methods (its bau is protocol2's, seed 1).
    assert len(plan.runs) == 1 + 18 + 3 + 6 + 5
    assert len(plan.evaluations) == 4 + 18 + 3 + 6 + 5
    assert RunKey("ablation_loss", "cuhk03", "bau", "2") not in plan.runs
    assert plan.trained[RunKey("ablation_loss", "cuhk03", "bau", "2")] == RunKey("protocol2", "cuhk03", "bau", "2")
    assert plan.trained[RunKey("ablation", "cuhk03", "bau", "1")] == RunKey("protocol2", "cuhk03", "bau", "1")
    assert plan.run_of(EvalKey("protocol1", "viper", "bau", "1")) == RunKey("protocol1", "all", "bau", "1")
    assert plan.split_datasets == ["grid", "ilids", "prid", "viper"]
    # Every dataset name read, the *dg variants as themselves.
    assert {"market1501dg", "cuhk03dg", "cuhk02dg", "msmt17dg", "market1501"} <= set(plan.datasets)
    assert len(plan.datasets) == 12
    assert len(plan.table_outputs) == 6 * 3
    figures = {kind: len(files) for kind, files in plan.figure_files.items()}
    assert figures == {"loss_curves": 9, "cmc": 6, "align_uniform": 6, "retrieval": 4 + 3 + 3, "tsne": 1 + 2 + 1}
    assert len(plan.figure_outputs) == 2 * sum(figures.values())


def test_data_inputs_are_the_reports_and_the_split_files(plan):
    assert plan.data_inputs(["prid", "market1501dg"]) == [
        "results/verify/market1501.json",  # the folder's report, which checks market1501dg too
        "results/verify/prid.json",
        "results/splits/prid_seed1.json",
    ]
    assert plan.verify_groups["market1501"] == ["market1501", "market1501dg"]


def test_table_evaluations_follow_the_table(plan):
    assert plan.table_evaluations("protocol2") == [
        EvalKey("protocol2", t, m, s)
        for t in ("cuhk03", "msmt17", "market1501")
        for m in ("bau", "baseline")
        for s in ("1", "2", "3")
    ]
    # a shared run's evaluation is read where it is trained
    assert plan.table_evaluations("ablation_loss", first_seed=True) == [
        EvalKey("protocol2", "cuhk03", "baseline", "1"),
        EvalKey("ablation_loss", "cuhk03", "align", "1"),
        EvalKey("ablation_loss", "cuhk03", "align_uniform", "1"),
        EvalKey("protocol2", "cuhk03", "bau", "1"),
    ]
    assert plan.run_losses("ablation", "cuhk03")[-1] == "results/runs/protocol2/cuhk03/bau/seed1/losses.jsonl"
    assert plan.table_targets("protocol1") == ["prid", "grid", "viper", "ilids"]
    assert plan.tables_of_kind("ablation") == ["ablation_loss", "ablation_weighting", "ablation_augment"]


def test_a_cpu_configuration_evaluates_on_cpu():
    # What is evaluated how (batch size, flip, re-ranking, ...) is the run's own `eval`
    # section, which `bau evaluate --run` reads (tests/evaluation); the plan only places it.
    assert (Plan(shipped_config()).eval_device, Plan(shipped_config()).eval_gpus) == ("cpu", 0)


def test_gpu_policy():
    plan = Plan(shipped_config("paper.yaml"))
    assert (plan.eval_device, plan.eval_gpus) == ("auto", 1)
    assert plan.gpu_limit(4) == (4, None)
    limit, warning = plan.gpu_limit(1)
    assert limit == 1 and "gpus_per_run is 2 but this machine has 1 GPU(s)" in warning


def test_titles(plan):
    assert plan.tsne_title(RunKey("protocol2", "cuhk03", "bau", "1")).endswith(", run cuhk03, BAU, seed 1")
    assert plan.align_uniform_title("ablation_loss").endswith("\nAblation of the losses (paper Table 5)")
    assert plan.cmc_title("protocol2") == "CMC curves\nProtocol-2, table protocol2"


def test_checkpoint_of_an_unfinished_run_is_deferred(plan, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunKey("protocol1", "all", "bau", "1")
    with pytest.raises(FileNotFoundError) as error:
        plan.selected_checkpoint(run)
    assert error.value.filename == plan.layout.final(run)  # Snakemake defers this input's value


def test_seeds_multiply_runs_and_evaluations_but_not_figures(plan):
    config = shipped_config(*WHOLE_DEFAULT)
    for protocol in config["protocols"].values():
        protocol.pop("seeds", None)
    config["seeds"] = [3, 1]
    config["protocols"]["protocol3"]["seeds"] = [5]  # a protocol's own seeds win
    seeded = Plan(config)
    protocol3 = {r for r in seeded.runs if r.protocol == "protocol3"}
    assert {r.seed for r in protocol3} == {"5"} and len(protocol3) == 3
    # protocol1 1 run, protocol2 6, ablation_loss 2 of its own, ablation 5: per seed
    assert len(seeded.runs) == 2 * (1 + 6 + 2 + 5) + 3
    assert len(seeded.evaluations) == 2 * (4 + 6 + 2 + 5) + 3
    assert seeded.all_seeds == ["1", "3", "5"]
    # every seed's metrics make the table; its figures show the first seed's (3)
    assert {e.seed for e in seeded.table_evaluations("protocol2")} == {"3", "1"}
    assert seeded.table_metrics("protocol2", first_seed=True) == [
        f"results/protocol2/{t}/{m}/seed3/metrics.json"
        for t in ("cuhk03", "msmt17", "market1501")
        for m in ("bau", "baseline")
    ]
    assert seeded.run_finals("protocol2", "cuhk03")[0] == "results/runs/protocol2/cuhk03/bau/seed3/final.json"
    assert seeded.tsne_run("protocol2", "cuhk03", "bau") == RunKey("protocol2", "cuhk03", "bau", "3")
    assert {k: len(v) for k, v in seeded.figure_files.items()} == {k: len(v) for k, v in plan.figure_files.items()}
    # the run's seed is the key's
    assert seeded.resolved_run(RunKey("protocol2", "cuhk03", "bau", "1"))["seed"] == 1
    assert seeded.resolved_run(RunKey("protocol2", "cuhk03", "bau", "3"))["seed"] == 3
    assert seeded.run_hash(RunKey("protocol2", "cuhk03", "bau", "1")) == plan.run_hash(
        RunKey("protocol2", "cuhk03", "bau", "1")
    )


def test_seeds_given_on_the_command_line_are_read_as_integers():
    config = shipped_config()
    config["seeds"] = ["1", "4"]  # what `snakemake --config seeds=[1,4]` passes
    assert Plan(config).all_seeds == ["1", "2", "3", "4"]  # with protocol2's own 1, 2, 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["protocols"].update(runs=c["protocols"]["protocol3"]),
            "protocol 'runs' has the name of a results folder",
        ),
        (lambda c: c["protocols"]["protocol2"].update(methods=["bau", "nope"]), "'nope' is not under 'methods'"),
        (lambda c: c["tables"]["protocol2"].update(protocol="nope"), "tables.protocol2.protocol: 'nope' is not under"),
        (lambda c: c.update(seeds=[1, 2, 1]), "seeds: seed 1 is listed twice; seeds must be unique"),
        (
            lambda c: c["protocols"]["protocol2"].update(seeds=[4, 4]),
            "protocols.protocol2.seeds: seed 4 is listed twice",
        ),
        (lambda c: c.update(seeds=[0]), "key 'seeds.0': 0 is invalid"),
        (lambda c: c.update(seeds=[]), "key 'seeds': [] is invalid"),
        (
            lambda c: c["run"].update(seed=7),
            "run.seed=7 would be replaced by the configured seeds (1, 2, 3): each run's seed comes from `seeds`",
        ),
    ],
)
def test_inconsistent_names_are_refused(edit, message):
    config = copy.deepcopy(shipped_config())
    edit(config)
    with pytest.raises(ConfigError, match="my.yaml is invalid") as error:
        Plan(config, source="my.yaml")
    assert message in str(error.value)


def test_plan_and_layout_import_without_torch():
    code = "import sys, bau.plan, bau.layout; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO).returncode == 0
