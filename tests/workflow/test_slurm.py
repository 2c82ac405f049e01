"""The tiny workflow through Snakemake's SLURM executor on a real (local) SLURM cluster.

Skipped where no cluster answers: `bash .ci/slurm-local-cluster.sh` starts one on this machine
(CI does so when it runs as root)."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import subprocess

import pytest

from tests.workflow.helpers import make_workdir, private_package, snakemake_cli, write_config
from tests.workflow.test_run import TINY


def _cluster_up() -> bool:
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return probe.returncode == 0 and any(s in probe.stdout for s in ("idle", "mix", "alloc"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _cluster_up(), reason="no SLURM cluster answers (see .ci/slurm-local-cluster.sh)"),
    pytest.mark.skipif(
        importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
        reason="snakemake-executor-plugin-slurm is not installed",
    ),
]


def test_tiny_workflow_runs_through_slurm(tmp_path):
    config = copy.deepcopy(TINY)
    config["protocols"] = {"protocol2": config["protocols"]["protocol2"]}
    config["protocols"]["protocol2"]["methods"] = ["bau"]
    config["tables"] = {"protocol2": {"protocol": "protocol2", "methods": ["bau"]}}
    config["figures"] = ["loss_curves", "cmc"]
    env = private_package(tmp_path / "pkg")
    workdir = make_workdir(tmp_path / "clone")
    configfile = write_config(workdir / "config" / "slurm.yaml", config)
    result = snakemake_cli(
        workdir,
        "all_tables",  # before the options that take several values
        "--executor",
        "slurm",
        "--jobs",
        "2",
        "--latency-wait",
        "30",
        # This cluster keeps no accounting database (sacct answers nothing): poll with squeue.
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--default-resources",
        "slurm_partition=local",
        "runtime=30",
        "mem_mb=2000",
        f"--configfile={configfile}",
        timeout=1200,
        env=env,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert (workdir / "results" / "tables" / "protocol2.md").is_file()
    assert (workdir / "results" / "protocol2" / "cuhk03" / "bau" / "seed1" / "metrics.json").is_file()
    # the jobs really went through SLURM
    accounted = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%j"], capture_output=True, text=True).stdout
    assert accounted.strip(), "squeue shows no job"
