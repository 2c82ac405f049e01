"""Fixtures of the dry-run tests: a throw-away clone of the workflow and no GPUs."""

from __future__ import annotations

import pytest

from tests.workflow.helpers import make_workdir


@pytest.fixture(autouse=True)
def no_gpus(monkeypatch):
    # A pretended device count: the GPU cap must not depend on the test machine.
    monkeypatch.setenv("BAU_DEVICE_COUNT", "0")


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(tmp_path / "clone")
