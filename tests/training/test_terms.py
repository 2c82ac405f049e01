"""The one rule of which loss terms a method config uses (objective, trainer log and tables)."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from bau.config import validate_run
from bau.training.memory import MemoryBank
from bau.training.objective import compute_losses, view_outputs
from bau.training.terms import LOSS_TERMS, effective_switches, enabled_terms, ignored_switches


def method(**switches):
    return validate_run({"method": switches})["method"]


def test_switches():
    assert enabled_terms(method()) == ("ce", "tri", "align", "uniform", "domain")
    assert enabled_terms(method(alignment=False, domain=False)) == ("ce", "tri", "uniform")
    # The baseline has no strong view, hence none of the terms that need it.
    assert enabled_terms(method(strong_view=False)) == ("ce", "tri")


def test_without_the_strong_view_every_switch_that_needs_it_is_off_and_reported():
    baseline = method(strong_view=False, uniformity=False, strong_id_loss=True)
    assert effective_switches(baseline) == {
        "strong_id_loss": False,
        "alignment": False,
        "uniformity": False,
        "domain": False,
    }
    # Only the switches that were asked for and cannot act are reported.
    assert ignored_switches(baseline) == ["strong_id_loss", "alignment", "domain"]
    assert ignored_switches(method(uniformity=False, strong_id_loss=True)) == []
    assert effective_switches(method(uniformity=False)) == {
        "strong_id_loss": False,
        "alignment": True,
        "uniformity": False,
        "domain": True,
    }


@pytest.mark.parametrize("switches", list(itertools.product([False, True], repeat=4)))
def test_the_objective_computes_exactly_the_enabled_terms(switches):
    strong_view, alignment, uniformity, domain = switches
    cfg = method(strong_view=strong_view, alignment=alignment, uniformity=uniformity, domain=domain)
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 0, 1, 1])
    weak, strong = (
        (torch.randn(4, 3, generator=g), F.normalize(torch.randn(4, 3, generator=g)), torch.randn(4, 2, generator=g))
        for _ in range(2)
    )
    memory = MemoryBank(F.normalize(torch.randn(2, 3, generator=g)), torch.tensor([0, 1]))
    out = view_outputs(weak, strong if strong_view else None)
    terms = compute_losses(out, y, torch.tensor([0, 0, 1, 1]), memory, cfg)
    assert tuple(terms) == enabled_terms(cfg)
    assert set(enabled_terms(cfg)) <= set(LOSS_TERMS)
