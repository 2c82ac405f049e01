"""Shared helpers of the workflow tests: a scratch working directory and the jobs Snakemake
plans for it (a dry run through snakemake's Python API)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from snakemake.api import SnakemakeApi
from snakemake.logging import logger as snakemake_logger
from snakemake.settings.types import (
    ConfigSettings,
    DAGSettings,
    OutputSettings,
    Quietness,
    ResourceSettings,
)
from snakemake_interface_logger_plugins.common import LogEvent

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflow" / "Snakefile"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
OTHER_TABLES = REPO / "config" / "other_tables.yaml"
PAPER_CONFIG = REPO / "config" / "paper.yaml"


def make_workdir(path: Path) -> Path:
    """A working directory as a fresh clone has it: config/ (default, paper, reported.csv)."""
    shutil.copytree(REPO / "config", path / "config")
    return path


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str]
    resources: dict[str, Any]
    output: list[str]


@dataclass
class Plan:
    """What a dry run would execute: its jobs, and their count per rule (Snakemake's stats)."""

    jobs: list[Job] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def rules(self) -> Counter:
        return Counter(job.rule for job in self.jobs)

    def of(self, rule: str) -> list[Job]:
        return [job for job in self.jobs if job.rule == rule]


class _PlanRecorder(logging.Handler):
    """Collects the job and run-summary events Snakemake logs during a dry run."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = Plan()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.JOB_INFO:
            resources = {k: v for k, v in dict(record.resources).items() if not k.startswith("_")}
            self.plan.jobs.append(
                Job(record.rule_name, dict(record.wildcards or {}), resources, list(record.output or []))
            )
        elif event == LogEvent.RUN_INFO:
            self.plan.counts = {k: v for k, v in record.stats.items() if k != "total"}


def dry_run(
    workdir: Path,
    targets: list[str],
    configfiles: list[Path] | None = None,
    cores: int = 2,
    resources: dict[str, int] | None = None,
) -> Plan:
    """The jobs a dry run of ``targets`` plans in ``workdir`` (snakemake.api)."""
    recorder = _PlanRecorder()
    previous = Path.cwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            snakemake_logger.addHandler(recorder)
            try:
                workflow = api.workflow(
                    resource_settings=ResourceSettings(cores=cores, resources=resources or {}),
                    config_settings=ConfigSettings(configfiles=list(configfiles or [])),
                    snakefile=SNAKEFILE,
                    workdir=workdir,
                )
                dag = workflow.dag(dag_settings=DAGSettings(targets=set(targets)))
                dag.execute_workflow(executor="dryrun")
            finally:
                snakemake_logger.removeHandler(recorder)
    finally:
        os.chdir(previous)
    return recorder.plan


def snakemake_cli(
    workdir: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` run in ``workdir`` as a user runs it (a separate process)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=workdir,
        env=env,
    )


# ------------------------------------------------------------- a private copy of bau


def private_package(destination: Path) -> dict[str, str]:
    """Copy the bau package to ``destination`` and return an environment that uses the copy.

    Tests that edit the code (to see what a rerun redoes) edit this copy, never the
    repository's files; everything of such a test (the workflow's `bau` calls, its dry runs)
    then runs in a separate process with the copy first on the path.
    """
    shutil.copytree(REPO / "bau", destination / "bau", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(destination), str(REPO)])
    return env


def dry_run_in(env: dict[str, str], workdir: Path, targets: list[str], configfiles: list[Path] | None = None) -> Plan:
    """:func:`dry_run` in a separate process with ``env`` (see :func:`private_package`)."""
    command = [sys.executable, "-m", "tests.workflow.plan", str(workdir), *targets]
    for configfile in configfiles or []:
        command += ["--configfile", str(configfile)]
    # Not the repository as the working directory: it would put the repository's bau first.
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=workdir, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"dry run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Plan([Job(**job) for job in data["jobs"]], data["counts"])
