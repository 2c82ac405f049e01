"""Shared fixtures of the evaluation tests."""

from __future__ import annotations

import pytest

from tests.evaluation.tiny_data import make_market, make_viper


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root with a tiny VIPeR (10 splits) and a tiny Market-1501."""
    root = tmp_path_factory.mktemp("data")
    make_viper(root)
    make_market(root)
    return root
