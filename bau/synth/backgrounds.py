"""Background scenes: one family per dataset, one fixed scene per camera.

A camera looks at the same place in every image, so each (dataset, camera) gets one scene
drawn once from the dataset's family (campus, underground station, airport hall, ...); each
image then shows a random crop of it. The family is part of the domain: it differs between
datasets and is shared by the cameras of one dataset.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SCENE_SIZE = (288, 352)  # width, height of a camera's scene before cropping

Colour = tuple[int, int, int]
Painter = Callable[[ImageDraw.ImageDraw, np.random.Generator, int, int, int], None]


def _jitter(rng: np.random.Generator, colour: Colour, amount: float = 18.0) -> Colour:
    # Mostly lighter/darker, a little hue: independent channel noise turns grey into purple.
    shift = rng.normal(0, amount) + rng.normal(0, amount / 4, 3)
    return tuple(int(v) for v in np.clip(np.asarray(colour) + shift, 0, 255))


def _pick(rng: np.random.Generator, colours: list[Colour], amount: float = 18.0) -> Colour:
    return _jitter(rng, colours[int(rng.integers(len(colours)))], amount)


def _windows(draw, rng, x0, y0, x1, y1, colour: Colour, frame: Colour) -> None:
    """A grid of windows on a facade between (x0, y0) and (x1, y1)."""
    cols, rows = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    cw, rh = (x1 - x0) / cols, (y1 - y0) / rows
    for c in range(cols):
        for r in range(rows):
            pad = 0.18
            box = (x0 + (c + pad) * cw, y0 + (r + pad) * rh, x0 + (c + 1 - pad) * cw, y0 + (r + 1 - pad) * rh)
            draw.rectangle(box, fill=_jitter(rng, colour, 10), outline=frame, width=2)


def _tiles(draw, horizon: int, w: int, h: int, colour: Colour, rng, vertical: bool = True) -> None:
    """Paving lines that get denser towards the horizon (a cheap perspective)."""
    y, step = float(h), (h - horizon) * 0.25
    while y > horizon and step > 2:
        draw.line([(0, y), (w, y)], fill=colour, width=2)
        step *= 0.8
        y -= step
    if vertical:
        for k in range(-6, 7):
            x_far = w / 2 + k * w * 0.08
            x_near = w / 2 + k * w * 0.3
            draw.line([(x_far, horizon), (x_near, h)], fill=colour, width=2)


def _trees(draw, rng, w: int, top: int, bottom: int, count: int) -> None:
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(top, bottom)
        r = rng.uniform(0.08, 0.2) * w
        draw.ellipse((x - r, y - r, x + r, y + r * 0.9), fill=_pick(rng, [(50, 95, 45), (70, 120, 55), (45, 80, 45)]))


def _silhouettes(draw, rng, w: int, horizon: int, count: int) -> None:
    """Far-away people (crowds in halls and streets): blobs of clothing colour."""
    palette = [(30, 30, 35), (200, 200, 195), (150, 40, 40), (40, 60, 120), (110, 110, 110), (190, 150, 90)]
    for _ in range(count):
        x = rng.uniform(0, w)
        hh = rng.uniform(0.18, 0.32) * w
        y = horizon + rng.uniform(-0.1, 0.2) * hh
        ww = hh * 0.28
        draw.rectangle((x - ww, y - hh * 0.75, x + ww, y), fill=_pick(rng, palette, 25))
        draw.ellipse(
            (x - ww * 0.6, y - hh, x + ww * 0.6, y - hh * 0.75), fill=_pick(rng, [(200, 160, 130), (120, 85, 60)])
        )


def _campus(draw, rng, w, h, horizon):  # Market-1501
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(205, 205, 200), (215, 200, 170), (180, 180, 185)]))
    _windows(draw, rng, 0, horizon * 0.1, w, horizon * 0.75, (90, 105, 120), (160, 160, 160))
    _trees(draw, rng, w, horizon * 0.3, horizon, int(rng.integers(2, 6)))
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(175, 170, 160), (160, 150, 140), (185, 180, 175)]))
    if rng.random() < 0.6:
        y = horizon + rng.uniform(0.05, 0.2) * (h - horizon)
        draw.rectangle((0, horizon, w, y), fill=_pick(rng, [(90, 140, 70), (110, 150, 80)]))
    _tiles(draw, horizon, w, h, _pick(rng, [(140, 135, 130)], 8), rng)


def _city(draw, rng, w, h, horizon):  # MSMT17 outdoor
    x = 0.0
    while x < w:
        bw = rng.uniform(0.3, 0.7) * w
        wall = _pick(rng, [(150, 80, 65), (160, 160, 165), (90, 120, 150), (200, 190, 170), (70, 70, 75)])
        draw.rectangle((x, 0, x + bw, horizon), fill=wall)
        _windows(draw, rng, x, horizon * 0.05, x + bw, horizon * 0.8, (60, 80, 110), _jitter(rng, wall, 30))
        x += bw
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(80, 80, 85), (110, 108, 105)]))
    for _ in range(int(rng.integers(1, 4))):
        px = rng.uniform(0, w)
        draw.rectangle((px, 0, px + rng.uniform(3, 8), horizon + 20), fill=(60, 60, 60))
    _tiles(draw, horizon, w, h, (130, 130, 130), rng, vertical=False)


def _indoor(draw, rng, w, h, horizon):  # MSMT17 indoor cameras
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(225, 220, 200), (210, 215, 220), (230, 210, 180)]))
    for _ in range(int(rng.integers(2, 4))):
        px = rng.uniform(0, w)
        draw.rectangle((px, 0, px + rng.uniform(20, 40), horizon), fill=_pick(rng, [(190, 185, 175), (170, 170, 175)]))
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(200, 195, 185), (180, 170, 160)]))
    _tiles(draw, horizon, w, h, (165, 160, 150), rng)


def _concrete(draw, rng, w, h, horizon):  # CUHK03
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(215, 215, 210), (195, 195, 190)]))
    for _ in range(int(rng.integers(1, 3))):
        x = rng.uniform(0, w)
        draw.rectangle(
            (x, horizon * 0.3, x + rng.uniform(30, 70), horizon), fill=_pick(rng, [(40, 40, 45), (70, 60, 55)])
        )
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(130, 130, 128), (150, 145, 140)]))
    shade = [(rng.uniform(0, w), 0), (w, 0), (w, h), (rng.uniform(0, w), h)]
    draw.polygon(shade, fill=_pick(rng, [(95, 95, 98)], 10))
    _tiles(draw, horizon, w, h, (110, 110, 110), rng, vertical=False)


def _campus_stone(draw, rng, w, h, horizon):  # CUHK02
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(200, 185, 150), (185, 175, 150)]))
    _trees(draw, rng, w, 0, horizon, int(rng.integers(3, 7)))
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(170, 150, 115), (150, 140, 120)]))
    _tiles(draw, horizon, w, h, (140, 125, 100), rng)


def _street(draw, rng, w, h, horizon):  # CUHK-SYSU
    x = 0.0
    while x < w:
        bw = rng.uniform(0.15, 0.4) * w
        shop = _pick(
            rng, [(200, 40, 40), (40, 120, 200), (240, 200, 40), (40, 160, 80), (230, 120, 30), (160, 60, 160)], 30
        )
        draw.rectangle((x, 0, x + bw, horizon), fill=shop)
        draw.rectangle(
            (x + 4, horizon * 0.1, x + bw - 4, horizon * 0.3), fill=_pick(rng, [(250, 250, 240), (20, 20, 20)])
        )
        x += bw
    _silhouettes(draw, rng, w, horizon, int(rng.integers(2, 6)))
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(100, 95, 95), (130, 125, 120)]))
    if rng.random() < 0.5:
        y = horizon + 15
        x = rng.uniform(-50, w - 40)
        draw.rounded_rectangle(
            (x, y, x + rng.uniform(80, 200), y + 45),
            12,
            fill=_pick(rng, [(200, 30, 30), (230, 230, 230), (30, 30, 30), (40, 70, 150)]),
        )


def _underground(draw, rng, w, h, horizon):  # GRID
    draw.rectangle((0, 0, w, horizon * 0.25), fill=_pick(rng, [(40, 40, 38), (60, 58, 50)]))
    wall = _pick(rng, [(170, 175, 140), (150, 160, 150), (185, 170, 130)])
    draw.rectangle((0, horizon * 0.25, w, horizon), fill=wall)
    step = int(rng.integers(8, 14))
    for x in range(0, w, step):
        draw.line([(x, horizon * 0.25), (x, horizon)], fill=_jitter(rng, wall, 25), width=1)
    for y in range(int(horizon * 0.25), int(horizon), step):
        draw.line([(0, y), (w, y)], fill=_jitter(rng, wall, 25), width=1)
    if rng.random() < 0.7:
        draw.rectangle(
            (rng.uniform(0, w / 2), horizon * 0.4, rng.uniform(w / 2, w), horizon * 0.55),
            fill=_pick(rng, [(180, 30, 30), (30, 40, 140)]),
        )
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(90, 88, 80), (70, 70, 68)]))
    y = horizon + rng.uniform(0.2, 0.6) * (h - horizon)
    draw.rectangle((0, y, w, y + 8), fill=(200, 180, 40))


def _hall(draw, rng, w, h, horizon):  # QMUL-iLIDS
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(190, 170, 140), (170, 160, 150)]))
    for _ in range(int(rng.integers(2, 5))):
        x = rng.uniform(0, w)
        draw.rectangle(
            (x, horizon * 0.05, x + rng.uniform(30, 80), horizon * 0.7),
            fill=_pick(rng, [(235, 235, 225), (215, 225, 235)], 8),
        )
    _silhouettes(draw, rng, w, horizon, int(rng.integers(4, 9)))
    draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(185, 160, 120), (160, 140, 110)]))
    _tiles(draw, horizon, w, h, (150, 128, 95), rng)


def _road(draw, rng, w, h, horizon):  # PRID-2011
    draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(150, 160, 150), (120, 130, 120)]))
    _trees(draw, rng, w, 0, horizon, int(rng.integers(4, 9)))
    grass = horizon + rng.uniform(0.1, 0.3) * (h - horizon)
    draw.rectangle((0, horizon, w, grass), fill=_pick(rng, [(80, 120, 60), (100, 130, 70)]))
    draw.rectangle((0, grass, w, h), fill=_pick(rng, [(75, 75, 78), (90, 88, 88)]))
    draw.rectangle((0, grass, w, grass + 5), fill=(170, 170, 165))


def _outdoor(draw, rng, w, h, horizon):  # VIPeR: every camera looks at a different kind of place
    kind = int(rng.integers(3))
    if kind == 0:
        _road(draw, rng, w, h, horizon)
    elif kind == 1:
        draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(150, 75, 60), (170, 100, 80)]))
        for y in range(0, int(horizon), 9):
            draw.line([(0, y), (w, y)], fill=(120, 60, 50), width=1)
        draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(120, 115, 110), (150, 140, 130)]))
    else:
        draw.rectangle((0, 0, w, horizon), fill=_pick(rng, [(95, 115, 85), (150, 150, 140)]))
        _trees(draw, rng, w, -20, horizon + 20, int(rng.integers(6, 11)))
        draw.rectangle((0, horizon, w, h), fill=_pick(rng, [(100, 130, 70), (140, 130, 110)]))


FAMILIES: dict[str, Painter] = {
    "campus": _campus,
    "city": _city,
    "indoor": _indoor,
    "concrete": _concrete,
    "campus_stone": _campus_stone,
    "street": _street,
    "underground": _underground,
    "hall": _hall,
    "road": _road,
    "outdoor": _outdoor,
}


def camera_scene(family: str, rng: np.random.Generator) -> np.ndarray:
    """One camera's scene (H x W x 3 float32, 0..255): drawn, defocused and textured."""
    if family not in FAMILIES:
        raise ValueError(f"unknown background family {family!r}; known: {sorted(FAMILIES)}")
    w, h = SCENE_SIZE
    image = Image.new("RGB", (w, h))
    horizon = int(h * rng.uniform(0.4, 0.6))
    FAMILIES[family](ImageDraw.Draw(image), rng, w, h, horizon)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(1.2, 2.5))))
    # Low-frequency texture (dirt, uneven light) so that walls and floors are not flat.
    coarse = rng.normal(0.0, 10.0, (h // 16 + 1, w // 16 + 1)).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.BICUBIC))
    scene = np.asarray(image, dtype=np.float32) + texture[..., None]
    return np.clip(scene, 0, 255)
