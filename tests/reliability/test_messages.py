"""Malformed files in a run folder are one error naming the file, not a traceback."""

from __future__ import annotations

import pytest

from bau.errors import ConfigError
from bau.io import read_yaml
from tests.reliability.helpers import bau, error_lines

TAGGED = "!!python/object/apply:os.system ['touch pwned']\n"


def test_a_python_tag_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TAGGED)
    with pytest.raises(ConfigError) as error:
        read_yaml(path)
    assert str(error.value) == (
        f"{path} is not plain YAML (line 1, column 1): could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'. Tags that build Python objects are refused; "
        "write plain values (or delete the file to have it written again)"
    )


def test_bau_train_on_a_run_folder_with_a_tagged_config(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(TAGGED)
    result = bau("train", "--out", str(run), "--device", "cpu", "--set", "model.pretrained=none")
    assert result.returncode == 2
    [line] = error_lines(result)
    assert line.startswith(f"bau train: error: {run / 'config.yaml'} is not plain YAML (line 1, column 1)")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pwned").exists() and not (run / "pwned").exists()
