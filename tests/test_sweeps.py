"""Sweeps (config `sweeps`, `analyses`): their validation, the paths of their runs, the reuse
of a run the workflow trains anyway, and what they leave unchanged."""

from __future__ import annotations

import copy

import pytest
import yaml

from bau.config import resolve_run, validate
from bau.errors import ConfigError
from bau.layout import EvalKey, Layout, RunKey, sweep_method, value_folder
from bau.plan import Plan
from tests.fixtures.configs import REPO, WHOLE_DEFAULT, shipped_config


@pytest.fixture(scope="module")
def plan() -> Plan:
    """The default run with its other tables, whose Protocol-3 runs the sweeps vary."""
    return Plan(shipped_config(*WHOLE_DEFAULT), source="config/config.yaml + config/other_tables.yaml")


# ------------------------------------------------------------------------------ layout


@pytest.mark.parametrize(
    ("value", "text"), [(0.5, "0.5"), (1.0, "1.0"), (10, "10"), (True, "true"), (False, "false"), ("bf16", "bf16")]
)
def test_value_folder(value, text):
    assert value_folder(value) == text


def test_sweep_run_paths_and_unchanged_method_paths():
    layout = Layout("results")
    method = sweep_method("bau_prob", "augment.prob", 0.5)
    assert method == "bau_prob+prob-0.5"
    run = RunKey("protocol3", "market1501", method, "1")
    assert layout.run_dir(run) == "results/runs/protocol3/market1501/bau_prob+prob-0.5/seed1"
    assert layout.metrics(EvalKey("protocol3", "market1501", method, "2")) == (
        "results/protocol3/market1501/bau_prob+prob-0.5/seed2/metrics.json"
    )
    # a configured method's run is where it always was
    assert (
        layout.run_dir(RunKey("protocol3", "market1501", "bau", "1")) == "results/runs/protocol3/market1501/bau/seed1"
    )


# -------------------------------------------------------------------------------- plan


def test_value_of_the_base_run_reuses_it(plan):
    points = {p.value: p for p in plan.sweep_points["bau_prob"]}
    base = points[0.5]
    assert base.reused
    assert base.run == RunKey("protocol3", "market1501", "bau", "1")
    assert plan.layout.metrics(base.evaluation) == "results/protocol3/market1501/bau/seed1/metrics.json"
    other = points[0.0]
    assert not other.reused
    assert other.run == RunKey("protocol3", "market1501", "bau_prob+prob-0.0", "1")
    assert other.run in plan.sweep_runs and base.run not in plan.sweep_runs
    # the base run is not trained twice, and the sweeps add no run to what all_tables trains
    assert len(plan.sweep_runs) == len(set(plan.sweep_runs))
    assert not set(plan.sweep_runs) & set(plan.runs)


def test_without_a_table_of_its_protocol_the_base_run_is_trained_in_its_own_folder():
    plan = Plan(shipped_config())  # no Protocol-3 table: all_tables does not train its runs
    base = RunKey("protocol3", "market1501", "bau", "1")
    assert base in plan.sweep_runs and base not in plan.runs
    # every sweep of BAU at its own value is that one run
    for sweep, value in (("bau_prob", 0.5), ("bau_k", 10), ("bau_lam", 1.5), ("bau_domain", True)):
        assert {p.value: p.run for p in plan.sweep_points[sweep]}[value] == base
    assert {p.value: p.run for p in plan.sweep_points["no_weighting_prob"]}[0.5].method == "no_weighting"


def test_sweep_run_config_differs_from_the_base_in_the_parameter_only(plan):
    base = plan.resolved_run(RunKey("protocol3", "market1501", "bau", "1"))
    for method, key, value in [("bau_k+k-5", "k", 5), ("bau_lam+lam-2.5", "lam", 2.5)]:
        swept = plan.resolved_run(RunKey("protocol3", "market1501", method, "1"))
        assert swept["method"][key] == value
        assert {**swept, "method": {**swept["method"], key: base["method"][key]}} == base


def test_set_overrides_apply_to_every_value(plan):
    for value in (0.0, 1.0):
        run = RunKey("indist", "market1501", sweep_method("plain_prob_indist", "augment.prob", value), "1")
        config = plan.resolved_run(run)
        assert config["method"]["plain_augment"] is True and config["method"]["strong_view"] is False
        assert config["augment"]["prob"] == value
        assert config["data"]["sources"] == ["market1501"] and config["data"]["targets"] == ["market1501"]


def test_unknown_sweep_run_is_refused(plan):
    with pytest.raises(ConfigError, match="not a run of any sweep"):
        plan.resolved_run(RunKey("protocol3", "market1501", "bau_k+k-7", "1"))


def test_equal_configuration_of_another_method_is_reused():
    config = shipped_config(*WHOLE_DEFAULT)
    config["protocols"]["protocol3"]["methods"] = ["bau", "align_uniform"]
    plan = Plan(config)
    points = {p.value: p for p in plan.sweep_points["bau_domain"]}
    # bau without L_domain is align_uniform: its run, not a second one
    assert points[False].run == RunKey("protocol3", "market1501", "align_uniform", "1")
    assert points[True].run == RunKey("protocol3", "market1501", "bau", "1")


def test_each_seed_is_a_point():
    config = shipped_config()
    config["seeds"] = [1, 2]
    plan = Plan(config)
    points = plan.sweep_points["bau_k"]
    assert [(p.value, p.seed) for p in points] == [(5, "1"), (5, "2"), (10, "1"), (10, "2"), (20, "1"), (20, "2")]
    assert {p.run.seed for p in points} == {"1", "2"}


def test_sweeps_change_nothing_all_tables_asks_for(plan):
    bare = shipped_config(*WHOLE_DEFAULT)
    for key in ("sweeps", "analyses"):
        bare.pop(key)
    bare["protocols"].pop("indist")
    without = Plan(bare)
    assert plan.runs == without.runs and plan.evaluations == without.evaluations
    assert plan.table_outputs == without.table_outputs and plan.figure_outputs == without.figure_outputs
    assert "indist" not in plan.table_protocols
    # and no run's configuration (its hash: what retrains) changes
    assert [plan.run_hash(r) for r in plan.runs] == [without.run_hash(r) for r in without.runs]


def test_analysis_inputs_and_points(plan):
    inputs = plan.analysis_inputs("fig8_sensitivity")
    base = "results/protocol3/market1501/bau/seed1/metrics.json"
    assert inputs.count(base) == 1  # k=10 and λ=1.5 are both the base run
    import json

    points = json.loads(plan.analysis_points("fig8_sensitivity"))
    assert len(points) == len(inputs)
    shared = points[inputs.index(base)]
    assert {(p["parameter"], p["value"], p["default"]) for p in shared} == {
        ("method.k", 10, 10),
        ("method.lam", 1.5, 1.5),
    }
    tsne = plan.analysis_inputs("fig4b_tsne_domain")
    assert tsne[0] == "results/runs/protocol3/market1501/bau/seed1/features/msmt17dg.npz"
    assert len(tsne) == 2 * 3  # two values x three source domains
    assert plan.analysis_outputs_of("fig1_plain_augmentation") == [
        "results/figures/analyses/fig1_plain_augmentation.png",
        "results/figures/analyses/fig1_plain_augmentation.pdf",
    ]


def test_sweep_default_is_the_base_methods_value(plan):
    assert plan.sweep_default("bau_prob") == 0.5
    assert plan.sweep_default("bau_k") == 10
    assert plan.sweep_default("bau_domain") is True


# ------------------------------------------------------------------------- validation


def _sweep(**changes) -> dict:
    config = shipped_config()
    config["sweeps"]["bau_k"] = {**config["sweeps"]["bau_k"], **changes}
    return config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parameter": "method.kk"}, "sweeps.bau_k.parameter: 'method.kk' is not a key of the run configuration"),
        ({"parameter": "augment.prob", "values": ["high"]}, "sweeps.bau_k.values: augment.prob='high' is refused"),
        ({"parameter": "augment.prob", "values": [1.5]}, "sweeps.bau_k.values: augment.prob=1.5 is refused"),
        ({"values": [2.5]}, "sweeps.bau_k.values: method.k=2.5 is refused"),
        ({"parameter": "seed"}, "does not match"),
        ({"parameter": "data.workers"}, "'data.workers' is set by the workflow"),
        ({"parameter": "train.milestones"}, "'train.milestones' holds a list"),
        ({"parameter": "method"}, "does not match"),
        ({"protocol": "protocol9"}, "sweeps.bau_k.protocol: 'protocol9' is not under 'protocols'"),
        ({"run": "viper"}, "sweeps.bau_k.run: protocols.protocol3 has no run 'viper'"),
        ({"method": "bau2"}, "sweeps.bau_k.method: 'bau2' is not under 'methods'"),
        ({"target": "cuhk03"}, "sweeps.bau_k.target: 'cuhk03' is not a target of protocols.protocol3.runs.market1501"),
        ({"values": [5, 5]}, "sweeps.bau_k.values: 5 listed twice"),
        ({"value_labels": ["a"]}, "sweeps.bau_k.value_labels: 1 label(s) for 3 value(s)"),
        ({"set": {"method": {"plain_augment": True}}}, "method.plain_augment augments the one view"),
        ({"parameter": "method.strong_view", "values": ["x y"]}, "text values must be letters"),
        ({"colour": "red"}, "unknown key 'sweeps.bau_k.colour'"),
    ],
)
def test_bad_sweep_is_refused_naming_the_key(changes, message):
    config = _sweep(**changes)
    with pytest.raises(ConfigError) as err:
        validate(config, "workflow", source="config/config.yaml")
    assert message in str(err.value)
    assert "config/config.yaml is invalid" in str(err.value)


def test_analysis_naming_an_unknown_sweep_is_refused():
    config = shipped_config()
    config["analyses"]["fig8_sensitivity"]["sweeps"] = ["bau_k", "bau_mu"]
    with pytest.raises(ConfigError, match="analyses.fig8_sensitivity.sweeps: 'bau_mu' is not under 'sweeps'"):
        validate(config, "workflow")
    config = shipped_config()
    config["analyses"]["protocol3"] = {"kind": "map", "sweeps": ["bau_k"]}
    with pytest.raises(ConfigError, match="analyses.protocol3: the name of protocol 'protocol3'"):
        validate(config, "workflow")


def test_sweep_set_stays_partial():
    """A sweep's `set` must not be filled with the run defaults (they would undo the base
    method's own settings, e.g. the baseline's strong_view: false)."""
    config = shipped_config()
    plan = Plan(config)
    assert plan.settings["sweeps"]["plain_prob"]["set"] == {"method": {"plain_augment": True}}
    run = plan.sweep_points["plain_prob"][0].run
    assert plan.resolved_run(run)["method"]["alignment"] is False


def test_paper_sweeps_reuse_the_protocol3_runs():
    plan = Plan(shipped_config("paper.yaml"))
    reused = {(p.sweep, p.value): p.run.method for ps in plan.sweep_points.values() for p in ps if p.reused}
    assert reused == {
        ("bau_prob", 0.5): "bau",
        ("no_weighting_prob", 0.5): "no_weighting",
        ("bau_k", 10): "bau",
        ("bau_lam", 1.5): "bau",
        ("bau_domain", True): "bau",
        ("bau_domain", False): "align_uniform",  # bau without L_domain
        # the base method of the plain-augmentation sweeps, trained in its own folder (no table shows it)
        ("plain_prob", 0.5): "plain",
        ("plain_prob_indist", 0.5): "plain",
    }
    # the paper's all_tables asks for what it did without sweeps
    bare = copy.deepcopy(shipped_config("paper.yaml"))
    for key in ("sweeps", "analyses"):
        bare.pop(key)
    bare["protocols"].pop("indist")
    bare["methods"].pop("plain")
    without = Plan(bare)
    assert plan.runs == without.runs and plan.table_outputs + plan.figure_outputs == (
        without.table_outputs + without.figure_outputs
    )


def test_plain_augment_needs_no_strong_view():
    config = shipped_config()
    config["methods"]["bau"] = {"method": {"plain_augment": True}}
    with pytest.raises(ConfigError, match="method.plain_augment .* needs method.strong_view: false"):
        validate(config, "workflow")
    # absent = false: a run without it resolves as before (no new default key)
    run = resolve_run(shipped_config(), "protocol3", "market1501", "bau")
    assert "plain_augment" not in run["method"]


def test_bau_config_resolves_a_sweep_run(capsys):
    from bau.cli import main as bau_main

    assert (
        bau_main(["config", str(REPO / "config" / "config.yaml"), "--resolve", "protocol3/market1501/bau_k+k-5/1"]) == 0
    )
    assert yaml.safe_load(capsys.readouterr().out)["method"]["k"] == 5
    assert (
        bau_main(["config", str(REPO / "config" / "config.yaml"), "--resolve", "protocol2/market1501/bau_k+k-5"]) == 2
    )
    assert "is not a run of a sweep" in capsys.readouterr().err
