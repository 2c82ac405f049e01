"""The Snakemake report captions (workflow/report/*.rst) render as `snakemake --report` does:
Jinja with the `snakemake` object, then reStructuredText, without warnings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils.core import publish_parts
from jinja2 import Environment, StrictUndefined

CAPTIONS = Path(__file__).resolve().parents[2] / "workflow" / "report"
KINDS = ["table_protocol", "table_ablation", "table_pairs", "loss_curves", "cmc", "align_uniform", "tsne", "retrieval"]


def render(name: str, config: dict) -> str:
    # snakemake renders captions with trim_blocks/lstrip_blocks (snakemake.report)
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    text = env.from_string((CAPTIONS / f"{name}.rst").read_text()).render(snakemake=SimpleNamespace(config=config))
    # halt_level 2: any docutils warning raises
    return publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("synthetic", [True, False])
def test_caption_renders(name, synthetic):
    html = render(name, {"data": {"synthetic": synthetic}, "selection": "last"})
    assert len(html) > 100


def test_table_caption_states_selection_and_data_kind():
    synthetic_last = render("table_protocol", {"data": {"synthetic": True}, "selection": "last"})
    assert "the last epoch" in synthetic_last and "synthetic benchmark" in synthetic_last
    real_best = render("table_protocol", {"data": {"synthetic": False}, "selection": "best_of_eval"})
    assert "target-test mAP" in real_best and "the real datasets" in real_best and "(reported)" in real_best
    assert "last epoch" not in real_best
    assert "Source column" in real_best and "Source column" not in synthetic_last
    assert "Protocol-3" in render("table_ablation", {"data": {"synthetic": True}})  # where the paper ablates
    assert "therefore not shown" in render("table_ablation", {"data": {"synthetic": True}})
