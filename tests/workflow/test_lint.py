"""`snakemake --lint` and `snakefmt --check` are clean for the workflow (CI runs both)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.workflow.helpers import PAPER_CONFIG, REPO, make_workdir, snakemake_cli


@pytest.mark.parametrize("configfiles", [[], [PAPER_CONFIG]], ids=["default", "paper"])
def test_snakemake_lint_is_clean(tmp_path, configfiles):
    workdir = make_workdir(tmp_path / "clone")
    args = ["--lint"] + (["--configfile", *map(str, configfiles)] if configfiles else [])
    result = snakemake_cli(workdir, *args, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakefmt_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "workflow"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
