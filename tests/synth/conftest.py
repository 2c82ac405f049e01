"""One tiny synthetic benchmark per test session (generating it takes ~15 s on 2 cores)."""

from __future__ import annotations

import pytest

from bau.synth import generate


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "data"
    counts = generate(root, scale="tiny", seed=1, workers=2)
    return root, counts
