"""The install contract: pyproject and environment.yml name the same packages; the CLI exists."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import bau
from bau.cli import COMMANDS

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [r for reqs in project["optional-dependencies"].values() for r in reqs]
    wanted = {_name(r) for r in project["dependencies"] + extras}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    listed = {_name(r) for r in pip if not r.startswith("-e")}
    assert listed == wanted
    assert "python" in conda
    assert "python=3.11" in env["dependencies"]
    assert "-e ." in pip


def test_torch_pin_excludes_the_local_cpu_wheel():
    # torch 2.13.0+cpu (a local find-links wheel on some machines) cannot import registry torchvision.
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch>=2.14" in deps


def test_cli_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "bau", "--help"], capture_output=True, text=True, check=True).stdout
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.M), name


def test_cli_version():
    out = subprocess.run([sys.executable, "-m", "bau", "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"bau {bau.__version__}"


def test_every_subcommand_module_has_the_cli_interface():
    import importlib

    for name, (module, _) in COMMANDS.items():
        mod = importlib.import_module(module)
        assert callable(mod.add_arguments) and callable(mod.main), name
