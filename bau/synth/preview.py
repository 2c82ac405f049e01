"""`bau synth --preview FILE.png`: a labelled sample grid of the synthetic benchmark.

Top row: one person rendered in each of the nine domain styles (the domain gap at a glance).
Below, one row per dataset: a few of its identities, each seen by several of its cameras,
taken from the real plan of the tiny scale (the same pictures `bau synth --scale tiny`
writes for that seed).
"""

from __future__ import annotations

import os
from collections import defaultdict

from PIL import Image, ImageDraw, ImageFont

from bau.io import atomic_open
from bau.synth.layouts import build_plans
from bau.synth.render import ImageSpec, render_image
from bau.synth.styles import STYLES

CELL_HEIGHT = 96
GAP = 3
LABEL_WIDTH = 118
TEXT = (20, 20, 20)


def _pick_identities(images: list[ImageSpec], count: int, per_identity: int) -> list[list[ImageSpec]]:
    """The first ``count`` identities seen by the most cameras, up to ``per_identity`` images each,
    one per camera first."""
    by_person: dict[tuple, list[ImageSpec]] = defaultdict(list)
    for spec in images:
        if spec.kind == "person":
            by_person[spec.person].append(spec)
    ranked = sorted(by_person.values(), key=lambda specs: -len({s.camera for s in specs}))
    chosen = []
    for specs in ranked[:count]:
        seen, first, rest = set(), [], []
        for spec in specs:
            (rest if spec.camera in seen else first).append(spec)
            seen.add(spec.camera)
        chosen.append((first + rest)[:per_identity])
    return chosen


def _cell(spec: ImageSpec, seed: int) -> Image.Image:
    image = render_image(spec, seed)
    return image.resize((max(1, round(image.width * CELL_HEIGHT / image.height)), CELL_HEIGHT), Image.BICUBIC)


def build_preview(seed: int = 1, identities: int = 2, per_identity: int = 4) -> Image.Image:
    font = ImageFont.load_default(size=12)
    rows: list[tuple[str, list[tuple[str, Image.Image]]]] = []
    shared = [
        (name, _cell(ImageSpec("", name, ("preview", 0), 0, 10**6, identity_namespace="preview"), seed))
        for name in STYLES
    ]
    rows.append(("one person,\nnine domains", shared))
    for plan in build_plans("tiny", seed):
        cells = []
        for specs in _pick_identities(plan.images, identities, per_identity):
            for spec in specs:
                cells.append((f"id {spec.person[-1]} c{spec.camera + 1}", _cell(spec, seed)))
        rows.append((plan.name, cells))
    small = ImageFont.load_default(size=9)
    row_h = CELL_HEIGHT + 14 + GAP * 2

    def cell_width(label: str, cell: Image.Image) -> int:
        return max(cell.width, int(small.getlength(label)) + 2) + GAP

    width = LABEL_WIDTH + max(sum(cell_width(*c) for c in cells) for _, cells in rows)
    sheet = Image.new("RGB", (width, row_h * len(rows) + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (title, cells) in enumerate(rows):
        y = GAP + r * row_h
        draw.multiline_text((6, y + CELL_HEIGHT // 2 - 8), title, fill=TEXT, font=font)
        x = LABEL_WIDTH
        for label, cell in cells:
            step = cell_width(label, cell)
            sheet.paste(cell, (x + (step - GAP - cell.width) // 2, y))
            draw.text((x, y + CELL_HEIGHT + 1), label, fill=TEXT, font=small)
            x += step
        if r == 0:
            draw.line([(0, y + row_h - 1), (width, y + row_h - 1)], fill=(150, 150, 150), width=1)
    return sheet


def write_preview(path: str | os.PathLike, seed: int = 1) -> None:
    # A 256-colour palette looks the same here and makes the file a third of the size (README).
    sheet = build_preview(seed).quantize(colors=256, dither=Image.Dither.NONE)
    with atomic_open(path, "wb") as handle:
        sheet.save(handle, format="PNG", optimize=True)
