"""Shared fixtures of the evaluation tests."""

from __future__ import annotations

import pytest

from tests.fixtures.datasets import build_colour_market, build_colour_viper


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root with a tiny VIPeR (10 splits) and a tiny Market-1501."""
    root = tmp_path_factory.mktemp("data")
    build_colour_viper(root)
    build_colour_market(root)
    return root
