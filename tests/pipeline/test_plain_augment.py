"""method.plain_augment (the paper's Fig. 1 "plain augmentation"): the baseline's one view
is augmented as the strong view is, with probability augment.prob; no second view."""

from __future__ import annotations

from bau.config import validate_run
from bau.pipeline.erasing import RandomErasing
from bau.pipeline.randaugment import RandAugment
from bau.pipeline.transforms import train_views


def _run(plain: bool, strong_view: bool = False, prob: float = 1.0) -> dict:
    method = {"strong_view": strong_view, "alignment": False, "uniformity": False, "domain": False}
    if plain:
        method["plain_augment"] = True
    return validate_run({"model": {"height": 32, "width": 16}, "method": method, "augment": {"prob": prob}})


def _steps(view) -> set[type]:
    """The kinds of the augmentations a view applies."""
    return {type(step) for step in (view.randaugment, view.colorjitter, view.erasing) if step is not None}


def test_plain_augment_view_has_the_strong_augmentations_and_no_second_view():
    view, second = train_views(_run(plain=True))
    assert second is None
    kinds = _steps(view)
    assert RandAugment in kinds and RandomErasing in kinds and view.prob == 1.0


def test_baseline_view_is_the_weak_view():
    view, second = train_views(_run(plain=False))
    assert second is None
    assert _steps(view) == set()


def test_bau_keeps_two_views():
    view, second = train_views(_run(plain=False, strong_view=True))
    assert second is not None and RandomErasing in _steps(second)
    assert _steps(view) == set()
