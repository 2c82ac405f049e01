"""The configuration schema: defaults, resolution of runs, and errors that name the key."""

from pathlib import Path

import pytest
import yaml

from bau.cli import main as cli_main
from bau.config import (
    config_hash,
    evaluated_as,
    fill_defaults,
    load_schema,
    load_workflow_config,
    load_yaml_config,
    protocol_seeds,
    resolve_run,
    seeds_from_command_line,
    trained_runs,
    validate,
    validate_run,
)
from bau.errors import ConfigError
from bau.layout import EvalKey, RunKey

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def workflow_cfg():
    return load_workflow_config(REPO / "config" / "config.yaml")


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    path = REPO / "config" / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    cfg = load_workflow_config(path)
    for protocol, spec in cfg["protocols"].items():
        for run in spec["runs"]:
            for method in spec.get("methods", ["bau"]):
                resolve_run(cfg, protocol, run, method)


def test_run_defaults_are_the_reference_values():
    cfg = validate_run({})
    assert cfg["train"]["lr"] == 3.5e-4
    assert cfg["train"]["milestones"] == [30, 50]
    assert cfg["train"]["eval_epochs"] == [50, 55, 60]
    assert cfg["method"]["lam"] == 1.5
    assert cfg["method"]["k"] == 10
    assert cfg["method"]["memory_momentum"] == 0.1
    assert cfg["augment"]["prob"] == 0.5
    assert cfg["train"]["bn_views"] == "separate"
    assert cfg["model"] == {"arch": "resnet50", "pretrained": "imagenet", "height": 256, "width": 128}


def test_fill_defaults_keeps_given_values():
    cfg = fill_defaults({"train": {"lr": 0.1}})
    assert cfg["train"]["lr"] == 0.1
    assert cfg["train"]["epochs"] == 60


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ConfigError) as err:
        validate_run({"train": {"lrr": 0.1}}, source="my.yaml")
    msg = str(err.value)
    assert "my.yaml" in msg
    assert "'train.lrr'" in msg
    assert "allowed keys here:" in msg and "lr" in msg and "batch_size" in msg


def test_bad_enum_value_names_key_value_and_allowed_values():
    with pytest.raises(ConfigError) as err:
        validate_run({"train": {"amp": "fp8"}})
    msg = str(err.value)
    assert "'train.amp'" in msg and "'fp8'" in msg
    assert "fp16, bf16, off" in msg


def test_bad_type_names_key_and_type():
    with pytest.raises(ConfigError, match=r"'train.epochs': 'ten' must be of type integer"):
        validate_run({"train": {"epochs": "ten"}})


def test_an_exponent_without_a_dot_gets_a_yaml_hint(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: {lr: 1e-3}\n")  # PyYAML (YAML 1.1) reads 1e-3 as a string
    with pytest.raises(ConfigError, match=r"'train.lr': '1e-3' must be of type number \(YAML reads 1e-3 as text"):
        validate_run(load_yaml_config(path))


def test_unknown_dataset_in_protocol_is_rejected(workflow_cfg):
    workflow_cfg["protocols"]["protocol2"]["runs"]["cuhk03"]["sources"] = ["market"]
    with pytest.raises(ConfigError, match=r"protocols.protocol2.runs.cuhk03.sources.0': 'market'"):
        validate(workflow_cfg)


def test_every_error_is_listed():
    with pytest.raises(ConfigError) as err:
        validate_run({"train": {"amp": "x", "epochs": -1}, "model": {"arch": "vgg"}})
    assert str(err.value).count("\n  - ") == 3


def test_resolve_run_merges_base_method_and_protocol(workflow_cfg):
    cfg = resolve_run(workflow_cfg, "protocol2", "cuhk03", "baseline")
    assert cfg["data"]["sources"] == ["market1501", "msmt17", "cuhksysu"]
    assert cfg["data"]["targets"] == ["cuhk03"]
    assert cfg["data"]["root"] == workflow_cfg["data"]["root"]
    assert cfg["data"]["splits_dir"] == "results/splits"
    assert cfg["method"]["strong_view"] is False
    assert cfg["model"]["arch"] == workflow_cfg["run"]["model"]["arch"]
    assert cfg["train"]["gpus"] == workflow_cfg["resources"]["gpus_per_run"]


def test_the_run_seed_comes_from_the_seeds(workflow_cfg):
    workflow_cfg["seeds"] = [4, 2]
    workflow_cfg["protocols"]["protocol2"].pop("seeds", None)
    assert resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")["seed"] == 4  # the first
    assert resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau", "2")["seed"] == 2
    workflow_cfg["protocols"]["protocol2"]["seeds"] = [9]
    assert protocol_seeds(workflow_cfg, "protocol2") == [9]
    assert protocol_seeds(workflow_cfg, "protocol3") == [4, 2]
    assert resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")["seed"] == 9
    assert seeds_from_command_line({"seeds": ["1", "3"]})["seeds"] == [1, 3]
    assert seeds_from_command_line({"seeds": ["x"]})["seeds"] == ["x"]  # left for the schema to refuse


def test_resolve_run_unknown_names(workflow_cfg):
    with pytest.raises(ConfigError, match="protocols.protocol2.runs.nowhere"):
        resolve_run(workflow_cfg, "protocol2", "nowhere", "bau")
    with pytest.raises(ConfigError, match="method 'magic'"):
        resolve_run(workflow_cfg, "protocol2", "cuhk03", "magic")


def test_config_hash_changes_with_hyper_parameters_only(workflow_cfg):
    a = resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")
    b = resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")
    assert config_hash(a) == config_hash(b)
    workflow_cfg["protocols"]["protocol2"]["runs"]["cuhk03"]["iters"] = 999
    c = resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")
    assert config_hash(c) != config_hash(a)
    assert config_hash(resolve_run(workflow_cfg, "protocol3", "cuhk03", "bau")) != config_hash(a)


def test_cli_reports_invalid_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"data": {"root": "d", "synthetic": "yes"}, "protocols": {}, "methods": {"bau": {}}}))
    assert cli_main(["config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'data.synthetic'" in err and "boolean" in err


def test_cli_reports_missing_file(tmp_path, capsys):
    assert cli_main(["config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_defaults_are_filled_in_map_entries_but_not_in_method_overrides():
    config = {
        "data": {"root": "data", "synthetic": True},
        "methods": {"bau": {}, "baseline": {"method": {"strong_view": False}}},
        "protocols": {"p": {"runs": {"r": {"sources": ["market1501"], "targets": ["cuhk03"]}}}},
        "tables": {"t": {"protocol": "p", "methods": ["bau"]}},
    }
    filled = fill_defaults(config, load_schema())
    assert filled["protocols"]["p"]["methods"] == ["bau"]  # the schema's default, in a map entry
    assert filled["tables"]["t"]["kind"] == "protocol"
    # A method stays a partial override: a filled default would win over `run`.
    assert filled["methods"] == {"bau": {}, "baseline": {"method": {"strong_view": False}}}
    assert filled["run"]["train"]["batch_size"] == 256
    assert fill_defaults(filled, load_schema()) == filled


def _resolve_to(tmp_path, out, *extra):
    return cli_main(
        ["config", str(REPO / "config" / "config.yaml"), "--resolve", "protocol2/cuhk03/bau", "--out", str(out), *extra]
    )


def test_config_out_writes_the_resolved_run_and_starts_a_changed_run_over(tmp_path, workflow_cfg, capsys):
    run = tmp_path / "run"
    out = run / "config.yaml"
    assert _resolve_to(tmp_path, out) == 0
    assert load_yaml_config(out) == resolve_run(workflow_cfg, "protocol2", "cuhk03", "bau")
    # A run trained with this configuration: the same configuration keeps it (resume).
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.pth").write_bytes(b"x")
    (run / "log.txt").write_text("epoch 1\n")
    assert _resolve_to(tmp_path, out) == 0
    assert "kept the run" in capsys.readouterr().out
    assert (run / "checkpoints" / "last.pth").is_file() and (run / "log.txt").is_file()
    # Another configuration in the folder: its training outputs are stale and removed.
    edited = load_yaml_config(out)
    edited["seed"] = 7
    out.write_text(yaml.safe_dump(edited))
    assert _resolve_to(tmp_path, out) == 0
    message = capsys.readouterr().out
    assert "removed the earlier run's checkpoints, log.txt" in message
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
    assert load_yaml_config(out)["seed"] == 1


def test_config_out_needs_resolve(tmp_path, capsys):
    assert cli_main(["config", str(REPO / "config" / "config.yaml"), "--out", str(tmp_path / "c.yaml")]) == 2
    assert "--out goes with --resolve" in capsys.readouterr().err


def _shared_ablation(workflow: dict) -> dict:
    """protocol2 (bau, baseline; seeds 1, 2) and an ablation protocol on protocol2's cuhk03 run
    with baseline, align and bau (seed 1; align differs) and one with 40 iterations per epoch."""
    workflow["methods"]["align"] = {"method": {"uniformity": False, "domain": False}}
    cuhk03 = dict(workflow["protocols"]["protocol2"]["runs"]["cuhk03"])
    workflow["protocols"] = {
        "protocol2": {**workflow["protocols"]["protocol2"], "methods": ["bau", "baseline"], "seeds": [1, 2]},
        "ablation": {"methods": ["baseline", "align", "bau"], "seeds": [1], "runs": {"cuhk03": cuhk03}},
        "longer": {"methods": ["bau"], "seeds": [1], "runs": {"cuhk03": {**cuhk03, "iters": 999}}},
    }
    return workflow


def test_equal_runs_of_two_protocols_are_trained_once(workflow_cfg):
    trained = trained_runs(_shared_ablation(workflow_cfg))
    assert trained[RunKey("ablation", "cuhk03", "bau", "1")] == RunKey("protocol2", "cuhk03", "bau", "1")
    assert trained[RunKey("ablation", "cuhk03", "baseline", "1")] == RunKey("protocol2", "cuhk03", "baseline", "1")
    # a method, a seed or an iteration count of its own makes a run of its own
    for own in (RunKey("ablation", "cuhk03", "align", "1"), RunKey("longer", "cuhk03", "bau", "1")):
        assert trained[own] == own
    assert trained[RunKey("protocol2", "cuhk03", "bau", "2")] == RunKey("protocol2", "cuhk03", "bau", "2")
    # every run of the first protocol trains itself
    assert all(trained[key] == key for key in trained if key.protocol == "protocol2")
    shared = EvalKey("ablation", "cuhk03", "bau", "1")
    assert evaluated_as(trained, workflow_cfg, shared) == EvalKey("protocol2", "cuhk03", "bau", "1")
    with pytest.raises(ConfigError, match="protocols.ablation has no run with target 'market1501'"):
        evaluated_as(trained, workflow_cfg, EvalKey("ablation", "market1501", "bau", "1"))
