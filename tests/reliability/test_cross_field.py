"""Rules between keys are checked by `bau config`, by the workflow (bau.config.validate) and
by `bau train` before anything is written: no job fails on them after it started."""

from __future__ import annotations

import copy

import pytest

from bau.config import validate, validate_run
from bau.errors import ConfigError
from bau.io import write_yaml
from tests.reliability.helpers import bau, error_lines
from tests.workflow.helpers import make_workdir, snakemake_cli, write_config

WORKFLOW = {
    "data": {"root": "data/synthetic", "synthetic": True},
    "run": {"train": {"batch_size": 18, "num_instances": 4}},
    "methods": {"bau": {}, "vit": {"model": {"arch": "vitbase", "height": 250}}},
    "protocols": {
        "protocol2": {"methods": ["bau", "vit"], "runs": {"cuhk03": {"sources": ["market1501"], "targets": ["cuhk03"]}}}
    },
}


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (
            {"train": {"batch_size": 18, "num_instances": 4}},
            "train.batch_size=18 must be a multiple of train.num_instances=4 (batches are whole identities",
        ),
        ({"eval": {"max_rank": 5}}, "key 'eval.max_rank': 5 is invalid: 5 is less than the minimum of 10"),
        ({"train": {"milestones": [50, 30]}}, "train.milestones=[50, 30] must be increasing; sort them"),
        (
            {"model": {"arch": "vitbase", "width": 120}},
            "model.height/width=256x120: model.arch=vitbase needs multiples of 16",
        ),
        ({"train": {"device": "cuda", "gpus": 0}}, "train.device=cuda with train.gpus=0; set train.gpus to 1 or more"),
        ({"data": {"sources": []}}, "key 'data.sources': [] is invalid"),
    ],
)
def test_run_rules(run, message):
    with pytest.raises(ConfigError) as error:
        validate_run(run, source="cfg.yaml")
    assert str(error.value).startswith("cfg.yaml is invalid:\n  - ")
    assert message in str(error.value)


def test_workflow_rules_name_the_runs_once():
    with pytest.raises(ConfigError) as error:
        validate(copy.deepcopy(WORKFLOW), source="config/bad.yaml")
    lines = str(error.value).splitlines()
    assert lines == [
        "config/bad.yaml is invalid:",
        (
            "  - train.batch_size=18 must be a multiple of train.num_instances=4 (batches are whole identities of "
            "num_instances images each) (in runs protocol2/cuhk03/bau, protocol2/cuhk03/vit)"
        ),
        "  - model.height/width=250x128: model.arch=vitbase needs multiples of 16 (in run protocol2/cuhk03/vit)",
    ]


def test_bau_config_and_the_dry_run_refuse(tmp_path):
    workdir = make_workdir(tmp_path / "clone")
    path = write_config(workdir / "config" / "bad.yaml", copy.deepcopy(WORKFLOW))
    result = bau("config", str(path))
    assert result.returncode == 2 and "train.batch_size=18 must be a multiple" in result.stderr
    result = snakemake_cli(workdir, "-n", "all_tables", f"--configfile={path}", timeout=300)
    assert result.returncode != 0
    assert "train.batch_size=18 must be a multiple of train.num_instances=4" in result.stdout + result.stderr


def test_bau_train_writes_nothing_for_a_bad_configuration(tmp_path):
    config = tmp_path / "run.yaml"
    write_yaml(config, {"train": {"batch_size": 18, "num_instances": 4}})
    result = bau("train", "--config", str(config), "--out", str(tmp_path / "run"), "--device", "cpu")
    assert result.returncode == 2
    assert error_lines(result) == [
        f"bau train: error: {config} with --set train.device=cpu is invalid:",
    ]
    assert "train.batch_size=18 must be a multiple of train.num_instances=4" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_run_that_cannot_start_leaves_no_config_behind(tmp_path):
    # Valid configuration, missing data: the corrected rerun into the same folder is not refused
    # as "a run of another configuration".
    run = tmp_path / "run"
    result = bau(
        "train", "--out", str(run), "--device", "cpu",
        "--set", f"data.root={tmp_path / 'nowhere'}", "--set", "data.sources=[market1501]",
        "--set", "model.pretrained=none", "--set", "model.arch=resnet18",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert not (run / "config.yaml").exists()
    assert sorted(p.name for p in run.iterdir()) == ["log.txt"]


def test_ddp_batch_split_is_checked_before_the_run_folder(tmp_path):
    config = tmp_path / "run.yaml"
    write_yaml(config, {"train": {"batch_size": 12, "num_instances": 4}})
    result = bau("train", "--config", str(config), "--out", str(tmp_path / "run"), "--device", "cpu", "--nproc", "2")
    assert result.returncode == 2
    assert error_lines(result) == [
        (
            "bau train: error: train.batch_size=12 must be a multiple of train.num_instances=4 x 2 processes "
            "(each process loads whole identities)"
        )
    ]
    assert not (tmp_path / "run").exists()
