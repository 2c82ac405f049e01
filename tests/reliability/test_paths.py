"""The whole tiny workflow with a data root and a results folder whose names hold spaces,
`$`, `'` and non-ASCII characters: every value a rule passes to a shell must be quoted.

Needs the workflow rules' quoting (workflow/rules/*.smk, issue 18 item 1)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.workflow.helpers import (
    make_workdir,
    private_package,
    snakemake_cli,
    write_config,
)
from tests.workflow.test_run import TINY

pytestmark = pytest.mark.slow

AWKWARD = "a dir $HOME 'quoted' été"


def test_the_tiny_workflow_runs_in_folders_with_awkward_names(tmp_path):
    env = private_package(tmp_path / "pkg")
    workdir = make_workdir(tmp_path / "clone")
    config = copy.deepcopy(TINY)
    config["data"]["root"] = str(tmp_path / f"data {AWKWARD}" / "synthetic")
    config["results"] = f"results {AWKWARD}"
    config["protocols"] = {"protocol2": config["protocols"]["protocol2"]}
    config["tables"] = {name: t for name, t in config["tables"].items() if t["protocol"] == "protocol2"}
    path = write_config(workdir / "config" / "awkward.yaml", config)
    result = snakemake_cli(workdir, "--cores", "2", "all_tables", f"--configfile={path}", timeout=1200, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    results = workdir / config["results"]
    metrics = json.loads((results / "protocol2" / "cuhk03" / "bau" / "seed1" / "metrics.json").read_text())
    assert metrics
    assert (results / "tables" / "protocol2.md").is_file()
    # Nothing escaped into the first word of a path, nor into the home folder.
    assert sorted(p.name for p in workdir.iterdir()) == sorted(["config", config["results"], ".snakemake"])
