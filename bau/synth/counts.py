"""What the parsers must read back from a synthetic benchmark of a given scale.

Counted from the layout plans (which depend on the scale only, not on the seed), with the
meaning of each field given in bau.datasets.stats: the same numbers ``bau verify`` compares.
"""

from __future__ import annotations

from collections.abc import Callable

from bau.datasets.stats import DatasetStats
from bau.synth.layouts import DatasetPlan, build_plans
from bau.synth.render import ImageSpec

_MARKET_LIKE = ("market1501", "msmt17", "cuhk03")


def _pid(spec: ImageSpec) -> int:
    return int(spec.person[1])  # ("id", pid) or ("bad", pid, n) with pid 0 / -1


def _market_like(plan: DatasetPlan) -> DatasetStats:
    kept = [s for s in plan.images if _pid(s) != -1]  # junk is dropped by the parser

    def folder(name: str) -> list[ImageSpec]:
        return [s for s in kept if s.path.split("/")[-2] == name]

    train, query, gallery = folder("bounding_box_train"), folder("query"), folder("bounding_box_test")
    return DatasetStats(
        train_images=len(train),
        train_ids=len({_pid(s) for s in train}),
        query_images=len(query),
        query_ids=len({_pid(s) for s in query}),
        gallery_images=len(gallery),
        gallery_ids=len({_pid(s) for s in gallery}),
        cameras=len({s.camera for s in kept}),
    )


def _people(plan: DatasetPlan) -> int:
    """Distinct identities; GRID's index-0 gallery distractors are not identities."""
    return len({s.person for s in plan.images if s.person[0] != "distractor"})


def _cameras(plan: DatasetPlan) -> int:
    return len({s.camera for s in plan.images})


def _cuhksysu(plan: DatasetPlan) -> DatasetStats:
    return DatasetStats(train_images=len(plan.images), train_ids=_people(plan), cameras=_cameras(plan))


def _with_cameras(plan: DatasetPlan) -> DatasetStats:
    return DatasetStats(images=len(plan.images), ids=_people(plan), cameras=_cameras(plan))


def _ilids(plan: DatasetPlan) -> DatasetStats:
    # The parser's cameras are sequence numbers (pseudo cameras): not checked, as for real data.
    return DatasetStats(images=len(plan.images), ids=_people(plan))


_COUNTERS: dict[str, Callable[[DatasetPlan], DatasetStats]] = {
    **{name: _market_like for name in _MARKET_LIKE},
    "cuhk02dg": _with_cameras,
    "cuhksysu": _cuhksysu,
    "grid": _with_cameras,
    "ilids": _ilids,
    "prid": _with_cameras,
    "viper": _with_cameras,
}


def expected_counts(scale: str) -> dict[str, DatasetStats]:
    """``{dataset: DatasetStats}`` for the nine folder-level datasets at ``scale``."""
    return {plan.name: _COUNTERS[plan.name](plan) for plan in build_plans(scale, seed=0)}
