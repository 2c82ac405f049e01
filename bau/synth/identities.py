"""Identities: the attributes that make a synthetic person who they are.

Every dataset samples its people from the same attribute space (the palettes and choices
below), so attributes recur across identities and datasets: many people wear a black top or
blue jeans, and only the combination (colours, patterns, body shape, hair, accessories)
tells two people apart. Each identity also perturbs its palette colours slightly, as two
"red" shirts are rarely the same red.

The space is shared but the prior is not: each dataset was recorded in its own season
(``season`` 0 = summer: light colours, short sleeves, shorts and skirts; 1 = winter: dark
coats, long sleeves, trousers, beanies), so clothing statistics shift between domains as
they do between the real datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

# (colour, weight): common clothing colours are dark and neutral, as in street scenes.
TOP_COLOURS: list[tuple[RGB, float]] = [
    ((20, 20, 24), 3.0),
    ((235, 235, 230), 2.5),
    ((120, 120, 125), 1.5),
    ((30, 40, 90), 1.5),
    ((200, 30, 35), 1.2),
    ((110, 20, 30), 0.8),
    ((240, 130, 30), 0.7),
    ((235, 205, 40), 0.7),
    ((40, 140, 60), 0.8),
    ((25, 75, 40), 0.6),
    ((30, 130, 140), 0.6),
    ((110, 170, 225), 1.0),
    ((40, 80, 190), 1.0),
    ((120, 50, 150), 0.6),
    ((235, 130, 170), 0.7),
    ((120, 80, 45), 0.7),
    ((210, 190, 150), 0.9),
]
BOTTOM_COLOURS: list[tuple[RGB, float]] = [
    ((20, 20, 24), 4.0),
    ((60, 60, 65), 2.0),
    ((35, 50, 95), 2.5),
    ((95, 130, 175), 1.5),
    ((195, 175, 130), 1.2),
    ((100, 70, 45), 0.8),
    ((225, 225, 220), 0.8),
    ((130, 130, 130), 1.0),
    ((150, 30, 35), 0.4),
    ((85, 95, 50), 0.5),
]
SHOE_COLOURS: list[tuple[RGB, float]] = [
    ((15, 15, 15), 4.0),
    ((240, 240, 240), 2.5),
    ((90, 60, 40), 1.5),
    ((120, 120, 130), 1.0),
    ((180, 40, 40), 0.3),
    ((40, 60, 140), 0.4),
]
BAG_COLOURS: list[tuple[RGB, float]] = [
    ((20, 20, 22), 3.0),
    ((60, 45, 35), 1.5),
    ((150, 40, 40), 0.8),
    ((40, 60, 120), 1.0),
    ((110, 110, 115), 1.0),
    ((200, 170, 120), 0.8),
    ((60, 110, 60), 0.5),
    ((230, 120, 160), 0.4),
]
SKIN_TONES: list[tuple[RGB, float]] = [
    ((245, 215, 190), 1.0),
    ((230, 190, 160), 1.5),
    ((205, 160, 125), 1.2),
    ((170, 120, 90), 0.8),
    ((120, 80, 55), 0.6),
    ((90, 60, 45), 0.4),
]
HAIR_COLOURS: list[tuple[RGB, float]] = [
    ((15, 12, 12), 4.0),
    ((55, 35, 25), 2.0),
    ((110, 75, 40), 1.0),
    ((200, 170, 110), 0.5),
    ((150, 150, 150), 0.4),
    ((130, 45, 25), 0.3),
]
HAT_COLOURS = TOP_COLOURS

TOP_PATTERNS = {"solid": 4.0, "stripes": 1.5, "split": 1.0, "logo": 1.5, "jacket": 1.5, "check": 0.7}
BOTTOM_KINDS = {"trousers": 6.0, "shorts": 2.0, "skirt": 1.2}
HAIR_STYLES = {"short": 5.0, "long": 3.0, "bald": 0.5}
HATS = {"none": 8.0, "cap": 1.2, "beanie": 0.8}
BAGS = {"none": 4.0, "backpack": 2.5, "shoulder": 1.5, "handbag": 1.0}


@dataclass(frozen=True)
class Identity:
    skin: RGB
    hair: RGB
    hair_style: str
    hat: str
    hat_colour: RGB
    height: float  # fraction of the nominal figure height
    build: float  # width factor of the body
    top: RGB
    top_second: RGB
    top_pattern: str
    long_sleeves: bool
    bottom: RGB
    bottom_kind: str
    shoes: RGB
    bag: str
    bag_colour: RGB


# Season multipliers of option weights: (summer, winter); 1 = unchanged.
_SEASONAL = {
    "shorts": (2.0, 0.15),
    "skirt": (1.6, 0.5),
    "trousers": (0.8, 1.3),
    "jacket": (0.4, 3.0),
    "beanie": (0.2, 4.0),
    "cap": (2.0, 0.5),
}


def _seasonal(options: dict[str, float], season: float) -> dict[str, float]:
    def factor(name: str) -> float:
        summer, winter = _SEASONAL.get(name, (1.0, 1.0))
        return summer ** (1.0 - season) * winter**season

    return {name: weight * factor(name) for name, weight in options.items()}


def _weighted(rng: np.random.Generator, options: dict[str, float], season: float = 0.5) -> str:
    options = _seasonal(options, season)
    names = list(options)
    weights = np.asarray([options[n] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _colour(
    rng: np.random.Generator, palette: list[tuple[RGB, float]], jitter: float = 10.0, season: float = 0.5
) -> RGB:
    # Winter favours dark colours, summer light ones (a factor up to 3 either way).
    lightness = np.asarray([sum(c) / 765.0 for c, _ in palette])
    weights = np.asarray([w for _, w in palette]) * np.exp(2.2 * (season - 0.5) * (1.0 - 2.0 * lightness))
    base = np.asarray(palette[int(rng.choice(len(palette), p=weights / weights.sum()))][0], float)
    return tuple(int(v) for v in np.clip(base + rng.normal(0.0, jitter, 3), 0, 255))


def sample_identity(rng: np.random.Generator, season: float = 0.5) -> Identity:
    """Draw one person from the shared attribute space, with the clothing prior of ``season``."""
    top = _colour(rng, TOP_COLOURS, season=season)
    second = _colour(rng, TOP_COLOURS)
    while sum(abs(a - b) for a, b in zip(top, second)) < 120:  # a pattern must be visible
        second = _colour(rng, TOP_COLOURS)
    return Identity(
        skin=_colour(rng, SKIN_TONES, 6.0),
        hair=_colour(rng, HAIR_COLOURS, 6.0),
        hair_style=_weighted(rng, HAIR_STYLES),
        hat=_weighted(rng, HATS, season),
        hat_colour=_colour(rng, HAT_COLOURS, season=season),
        height=float(rng.uniform(0.88, 1.0)),
        build=float(rng.uniform(0.85, 1.25)),
        top=top,
        top_second=second,
        top_pattern=_weighted(rng, TOP_PATTERNS, season),
        long_sleeves=bool(rng.random() < 0.2 + 0.7 * season),
        bottom=_colour(rng, BOTTOM_COLOURS, season=season),
        bottom_kind=_weighted(rng, BOTTOM_KINDS, season),
        shoes=_colour(rng, SHOE_COLOURS, 6.0),
        bag=_weighted(rng, BAGS),
        bag_colour=_colour(rng, BAG_COLOURS),
    )
