"""The workflow end to end on CPU: a tiny configuration from synthesis to every table and
figure and the HTML report, then what a rerun redoes after an edit.

Everything runs in separate processes on a private copy of the bau package (helpers.
private_package), so that a test can edit "the code" without touching the repository."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.workflow.helpers import Plan, dry_run_in, make_workdir, private_package, snakemake_cli, write_config

pytestmark = pytest.mark.slow

# Two protocols (one with a small, 10-split target), two methods, a protocol and an ablation
# table; one epoch of two iterations on 32x16 images.
TINY = {
    "data": {"root": "data/synthetic", "synthetic": True, "synth_scale": "tiny"},
    "selection": "best_of_eval",
    "resources": {"gpus_per_run": 0, "threads_per_run": 1, "mem_mb_per_run": 1000},
    "run": {
        "data": {"workers": 0},
        "model": {"arch": "resnet18", "pretrained": "none", "height": 32, "width": 16},
        "train": {
            "batch_size": 16,
            "num_instances": 4,
            "epochs": 1,
            "iters": 2,
            "warmup_epochs": 0,
            "milestones": [1],
            "eval_epochs": [1],
            "log_every": 1,
        },
        "eval": {"batch_size": 64},
    },
    "methods": {
        "bau": {},
        "baseline": {"method": {"strong_view": False, "alignment": False, "uniformity": False, "domain": False}},
    },
    "protocols": {
        "protocol1": {"runs": {"all": {"sources": ["market1501dg", "cuhksysu"], "targets": ["prid", "viper"]}}},
        "protocol2": {
            "methods": ["baseline", "bau"],
            "runs": {"cuhk03": {"sources": ["market1501", "cuhksysu"], "targets": ["cuhk03"]}},
        },
    },
    "tables": {
        "protocol1": {"protocol": "protocol1", "methods": ["bau"]},
        "protocol2": {"protocol": "protocol2", "methods": ["bau"]},
        "ablation": {"kind": "ablation", "protocol": "protocol2", "methods": ["baseline", "bau"]},
    },
    "figures": ["loss_curves", "cmc", "align_uniform", "tsne", "retrieval"],
}

REPORT_RULES = {"table_protocol", "table_ablation"}


def _tail(result) -> str:
    return (result.stdout + result.stderr)[-6000:]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A clone that ran `snakemake --cores 2 all_tables` with the tiny configuration."""
    root = tmp_path_factory.mktemp("tiny")
    env = private_package(root / "pkg")
    workdir = make_workdir(root / "clone")
    config = write_config(workdir / "config" / "tiny.yaml", TINY)
    planned = dry_run_in(env, workdir, ["all_tables"], [config])
    result = snakemake_cli(workdir, "--cores", "2", "all_tables", f"--configfile={config}", timeout=900, env=env)
    assert result.returncode == 0, _tail(result)
    return TinyRun(root, workdir, config, env, planned)


@dataclass
class TinyRun:
    root: Path  # holds pkg/ (the private bau) and clone/ (the working directory)
    workdir: Path
    config: Path
    env: dict[str, str]
    planned: Plan  # the jobs of the first run

    def plan(self, config=None):
        return dry_run_in(self.env, self.workdir, ["all_tables"], [config or self.config])

    def edit_code(self, module: str):
        """Append a comment to a module of the private bau copy (an edit, as a developer makes)."""
        path = self.root / "pkg" / (module.replace(".", "/") + ".py")
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        return original, path


def test_every_table_and_figure_is_written(tiny_run):
    workdir, planned = tiny_run.workdir, tiny_run.planned
    tables = workdir / "results" / "tables"
    for name in TINY["tables"]:
        for suffix in (".md", ".csv", ".tex"):
            assert (tables / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix}"
    assert "BAU" in (tables / "protocol2.md").read_text()
    outputs = [Path(out) for job in planned.jobs if job.rule.startswith(("table_", "figure_")) for out in job.output]
    kinds = {job.rule.removeprefix("figure_") for job in planned.jobs if job.rule.startswith("figure_")}
    assert kinds == set(TINY["figures"])
    missing = [str(out) for out in outputs if not (workdir / out).is_file() or (workdir / out).stat().st_size == 0]
    assert not missing
    figures = {
        p.relative_to(workdir / "results" / "figures").as_posix()
        for p in (workdir / "results" / "figures").rglob("*.png")
    }
    assert {"cmc/protocol1.png", "loss_curves/protocol2/cuhk03.png", "tsne/protocol1/all/bau.png"} <= figures


def test_metrics_come_from_the_configured_selection(tiny_run):
    workdir = tiny_run.workdir
    metrics = json.loads((workdir / "results/protocol1/prid/bau/seed1/metrics.json").read_text())
    assert metrics["selection"] == "best_of_eval"
    assert metrics["synthetic"] is True
    assert metrics["num_splits"] == 10
    final = json.loads((workdir / "results/runs/protocol1/all/bau/seed1/final.json").read_text())
    assert set(final["targets"]) == {"prid", "viper"}  # one run, both targets


def test_report_includes_tables_and_figures(tiny_run):
    workdir = tiny_run.workdir
    result = snakemake_cli(
        workdir,
        "--report",
        "report.html",
        "all_tables",
        f"--configfile={tiny_run.config}",
        timeout=300,
        env=tiny_run.env,
    )
    assert result.returncode == 0, _tail(result)
    html = (workdir / "report.html").read_text(errors="replace")
    for needle in ("protocol2.csv", "ablation.md", "align_uniform", "retrieval", "tsne"):
        assert needle in html, needle


def test_a_finished_workflow_has_nothing_to_do(tiny_run):
    assert tiny_run.plan().counts == {}


def test_editing_table_code_reruns_only_the_tables(tiny_run):
    original, path = tiny_run.edit_code("bau.report.tables")
    try:
        plan = tiny_run.plan()
    finally:
        path.write_text(original)
    assert set(plan.counts) == REPORT_RULES | {"all_tables"}
    assert plan.counts["table_protocol"] + plan.counts["table_ablation"] == len(TINY["tables"])


def test_editing_figure_code_reruns_only_the_figures(tiny_run):
    original, path = tiny_run.edit_code("bau.report.figures")
    try:
        plan = tiny_run.plan()
    finally:
        path.write_text(original)
    assert {rule for rule in plan.counts if rule != "all_tables"} == {f"figure_{kind}" for kind in TINY["figures"]}


def test_editing_training_code_retrains_nothing(tiny_run):
    original, path = tiny_run.edit_code("bau.training.trainer")
    try:
        plan = tiny_run.plan()
    finally:
        path.write_text(original)
    assert plan.counts == {}


def test_changing_one_protocols_iterations_retrains_only_its_runs(tiny_run):
    edited = copy.deepcopy(TINY)
    edited["protocols"]["protocol2"]["runs"]["cuhk03"]["iters"] = 3
    config = write_config(tiny_run.workdir / "config" / "tiny_edited.yaml", edited)
    plan = tiny_run.plan(config)
    retrained = {(j.wildcards["protocol"], j.wildcards["run"], j.wildcards["method"]) for j in plan.of("train")}
    assert retrained == {("protocol2", "cuhk03", "baseline"), ("protocol2", "cuhk03", "bau")}
    assert {j.wildcards["protocol"] for j in plan.of("evaluate")} == {"protocol2"}
    assert not {"synth", "verify", "splits"} & set(plan.counts)


def test_a_changed_run_starts_over_and_an_interrupted_one_resumes(tiny_run, tmp_path):
    # On a copy of the finished clone (mtimes and Snakemake's records kept).
    workdir = Path(shutil.copytree(tiny_run.workdir, tmp_path / "clone", symlinks=True))
    edited = copy.deepcopy(TINY)
    edited["protocols"]["protocol2"]["runs"]["cuhk03"]["iters"] = 3
    config = write_config(workdir / "config" / "tiny_edited.yaml", edited)
    run = workdir / "results/runs/protocol2/cuhk03/bau/seed1"
    target = "results/runs/protocol2/cuhk03/bau/seed1/config.yaml"  # targets are paths relative to the clone
    result = snakemake_cli(workdir, "--cores", "1", target, f"--configfile={config}", env=tiny_run.env)
    assert result.returncode == 0, _tail(result)
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["iters"] == 3
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "features"]  # the old run is gone
    assert (
        "removed the earlier run's checkpoints"
        in (workdir / "results/logs/run_config/protocol2/cuhk03/bau/seed1.log").read_text()
    )

    # A training killed after its last checkpoint: no final.json. It is trained again, from
    # the checkpoint, and its configuration is not rewritten.
    target = "results/runs/protocol1/all/bau/seed1/final.json"
    interrupted = workdir / "results/runs/protocol1/all/bau/seed1"
    (workdir / target).unlink()
    plan = dry_run_in(tiny_run.env, workdir, [target], [tiny_run.config])
    assert plan.counts == {"train": 1}
    result = snakemake_cli(workdir, "--cores", "1", target, f"--configfile={tiny_run.config}", env=tiny_run.env)
    assert result.returncode == 0, _tail(result)
    assert "resumed from" in (interrupted / "log.txt").read_text()
