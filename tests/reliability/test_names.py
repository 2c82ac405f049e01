"""Names that become wildcards, folders and command arguments are letters, digits, _ and -:
injection attempts and `..` are refused by the schema, naming the key, the value and the
pattern, before Snakemake plans a job."""

from __future__ import annotations

import copy

import pytest

from bau.config import validate
from bau.errors import ConfigError
from tests.reliability.helpers import bau
from tests.workflow.helpers import make_workdir, snakemake_cli, write_config

PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]*$"

BASE = {
    "data": {"root": "data/synthetic", "synthetic": True},
    "methods": {"bau": {}},
    "protocols": {"protocol2": {"runs": {"cuhk03": {"sources": ["market1501"], "targets": ["cuhk03"]}}}},
    "tables": {"protocol2": {"protocol": "protocol2", "methods": ["bau"]}},
}


def rename(section: str, old: str, new: str):
    def edit(config):
        node = config
        for part in section.split("."):
            node = node[part]
        node[new] = node.pop(old)
        if section == "methods":
            config["protocols"]["protocol2"]["methods"] = [new]
            config["tables"]["protocol2"]["methods"] = [new]
        if section == "protocols":
            config["tables"]["protocol2"]["protocol"] = new
        return config

    return edit


@pytest.mark.parametrize(
    ("edit", "key", "value"),
    [
        (rename("methods", "bau", "x$(touch /tmp/pwned_subst)"), "methods", "x$(touch /tmp/pwned_subst)"),
        (rename("protocols", "protocol2", "p`touch /tmp/pwned_proto`"), "protocols", "p`touch /tmp/pwned_proto`"),
        (rename("methods", "bau", "a;touch /tmp/pwned"), "methods", "a;touch /tmp/pwned"),
        (rename("protocols", "protocol2", "../../x_proto"), "protocols", "../../x_proto"),
        (rename("protocols.protocol2.runs", "cuhk03", ".."), "protocols.protocol2.runs", ".."),
        (rename("tables", "protocol2", "t/../../etc"), "tables", "t/../../etc"),
        (rename("methods", "bau", "-rf"), "methods", "-rf"),
        (rename("methods", "bau", "with space"), "methods", "with space"),
        (rename("methods", "bau", "métode"), "methods", "métode"),
    ],
)
def test_unsafe_names_are_refused_naming_key_value_and_pattern(edit, key, value):
    with pytest.raises(ConfigError) as error:
        validate(edit(copy.deepcopy(BASE)))
    assert f"key '{key}': name {value!r} is not allowed; names must match {PATTERN}" in str(error.value)


def test_names_in_lists_are_checked_too():
    config = copy.deepcopy(BASE)
    config["protocols"]["protocol2"]["methods"] = ["bau", "b;rm -rf ~"]
    config["tables"]["protocol2"]["protocol"] = "../protocol2"
    with pytest.raises(ConfigError) as error:
        validate(config)
    message = str(error.value)
    assert f"key 'protocols.protocol2.methods.1': 'b;rm -rf ~' does not match {PATTERN}" in message
    assert f"key 'tables.protocol2.protocol': '../protocol2' does not match {PATTERN}" in message


def test_safe_names_pass():
    config = copy.deepcopy(BASE)
    rename("methods", "bau", "BAU_v2-no-erasing")(config)
    validate(config)


def test_bau_config_refuses_an_injection_attempt(tmp_path):
    path = write_config(
        tmp_path / "bad.yaml", rename("methods", "bau", "x$(touch /tmp/pwned_subst)")(copy.deepcopy(BASE))
    )
    result = bau("config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"bau config: error: {path} is invalid:"
    assert "name 'x$(touch /tmp/pwned_subst)' is not allowed" in result.stderr


def test_the_workflow_refuses_before_any_job(tmp_path):
    marker = tmp_path / "pwned"
    workdir = make_workdir(tmp_path / "clone")
    bad = rename("protocols", "protocol2", f"p$(touch {marker})")(copy.deepcopy(BASE))
    path = write_config(workdir / "config" / "bad.yaml", bad)
    result = snakemake_cli(tmp_path / "clone", "--cores", "1", "all_tables", f"--configfile={path}", timeout=300)
    assert result.returncode != 0
    assert f"name 'p$(touch {marker})' is not allowed" in result.stdout + result.stderr
    assert not marker.exists()
    assert not (tmp_path / "clone" / "results").exists()
