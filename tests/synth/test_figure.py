"""The person figure: identity attributes drawn, accessories visible only from some views."""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageDraw

from bau.synth.figure import FigurePainter
from bau.synth.identities import sample_identity
from bau.synth.render import identity_of

BAG = (1, 250, 3)
LOGO = (250, 2, 251)


def _pixels(person, view: str, colour) -> int:
    layer = Image.new("RGBA", (120, 240), (0, 0, 0, 0))
    FigurePainter(ImageDraw.Draw(layer), person, 60, 232, 220).draw(view, 0.5)
    rgb = np.asarray(layer)[..., :3]
    return int(np.all(rgb == colour, axis=-1).sum())


def _person(**changes):
    return dataclasses.replace(sample_identity(np.random.default_rng(0)), **changes)


def test_backpack_seen_fully_only_from_the_back():
    person = _person(bag="backpack", bag_colour=BAG)
    back, side, front = (_pixels(person, v, BAG) for v in ("back", "side", "front"))
    assert back > 1000 and back > 2 * side and side > 0 and front == 0


def test_logo_seen_only_from_the_front():
    person = _person(top_pattern="logo", top_second=LOGO, bag="none")
    assert _pixels(person, "front", LOGO) > 200
    assert _pixels(person, "back", LOGO) == 0 and _pixels(person, "side", LOGO) == 0


def test_top_colour_is_the_largest_garment_in_every_view():
    top = (3, 4, 250)
    person = _person(top=top, top_pattern="solid", bag="none", hat="none")
    for view in ("front", "back", "side"):
        assert _pixels(person, view, top) > 1500, view


def test_people_differ_between_datasets_and_share_attributes():
    market = [identity_of(1, "market1501", ("id", i)) for i in range(1, 121)]
    msmt = [identity_of(1, "msmt17", ("id", i)) for i in range(1, 121)]
    assert all(a != b for a, b in zip(market, msmt))  # same number, different person
    assert len(set(market)) == len(market)
    # Attributes recur: many people share a hair style, a bottom kind, a top pattern.
    for attribute in ("hair_style", "bottom_kind", "top_pattern", "bag"):
        values = [getattr(p, attribute) for p in market]
        assert max(values.count(v) for v in set(values)) >= 15, attribute
    assert identity_of(1, "market1501", ("id", 7)) == identity_of(1, "market1501", ("id", 7))
    assert identity_of(2, "market1501", ("id", 7)) != identity_of(1, "market1501", ("id", 7))


def test_clothing_prior_follows_the_dataset_season():
    summer = [identity_of(1, "market1501", ("id", i)) for i in range(300)]  # season 0.1
    winter = [identity_of(1, "msmt17", ("id", i)) for i in range(300)]  # season 0.9

    def share(people, test):
        return sum(map(test, people)) / len(people)

    assert share(summer, lambda p: p.bottom_kind == "shorts") > share(winter, lambda p: p.bottom_kind == "shorts") + 0.1
    assert share(winter, lambda p: p.long_sleeves) > share(summer, lambda p: p.long_sleeves) + 0.4
    lightness = lambda p: sum(p.top) / 765  # noqa: E731
    assert np.mean([lightness(p) for p in summer]) > np.mean([lightness(p) for p in winter]) + 0.1
