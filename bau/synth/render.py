"""Rendering one synthetic re-ID image: scene, person, occluder, then the dataset's camera model.

Every random draw of an image comes from a generator derived from (seed, dataset, image
index); identities from (seed, dataset, person key); camera scenes and light from (seed,
dataset, camera). So an image does not depend on which worker renders it or in what order.

Pipeline of one image (supersampled x2, then reduced):
scene crop -> foot shadow -> person (view, walking phase, side light) -> occluder ->
resolution loss -> blur -> camera white balance and light, saturation, contrast (one colour
matrix) -> sensor noise -> gamma. Post-processing is vectorised numpy on the whole image.
"""

from __future__ import annotations

import functools
import zlib
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bau.synth.backgrounds import camera_scene
from bau.synth.figure import FigurePainter
from bau.synth.identities import Identity, sample_identity
from bau.synth.styles import STYLES, VIEWS, DatasetStyle, camera_gains

SUPERSAMPLE = 2
_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)

# Stream tags: keep the generators of identities, images and cameras independent.
_IDENTITY, _IMAGE, _SCENE, _LIGHT = 1, 2, 3, 4


class ImageSpec(NamedTuple):
    """What one image shows. ``kind``: "person", or "fragment" (a bad detection: junk or distractor)."""

    path: str  # relative to the output folder
    dataset: str  # style key (bau.synth.styles.STYLES)
    person: tuple  # identity key, unique within the dataset
    camera: int  # 0-based camera index (scene and light)
    index: int  # image index within the dataset (its random stream)
    kind: str = "person"
    # Where the person's identity is drawn from: "" = this dataset's own people. The preview
    # sets a shared namespace to show one person in every domain.
    identity_namespace: str = ""


def _code(value) -> int:
    if isinstance(value, str):
        return zlib.crc32(value.encode())
    if value < 0:
        return 2**32 + value
    return int(value)


def derive_rng(seed: int, dataset: str, stream: int, *key) -> np.random.Generator:
    """A generator that depends only on its arguments (not on call order or process)."""
    return np.random.default_rng([int(seed), _code(dataset), stream, *(_code(k) for k in key)])


@functools.lru_cache(maxsize=4096)
def identity_of(seed: int, dataset: str, person: tuple) -> Identity:
    """The person ``person`` of ``dataset`` (a style key, or another namespace with a neutral prior)."""
    season = STYLES[dataset].season if dataset in STYLES else 0.5
    return sample_identity(derive_rng(seed, dataset, _IDENTITY, *person), season)


@functools.lru_cache(maxsize=64)
def _camera(seed: int, dataset: str, camera: int) -> tuple[np.ndarray, np.ndarray]:
    style = STYLES[dataset]
    scene = camera_scene(style.background_family(camera), derive_rng(seed, dataset, _SCENE, camera))
    gains = camera_gains(style, derive_rng(seed, dataset, _LIGHT, camera), camera)
    return scene, gains.astype(np.float32)


def _scene_crop(scene: np.ndarray, rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A random window of the camera's scene with the image's aspect, resized to the canvas."""
    sh, sw = scene.shape[:2]
    crop_h = int(sh * rng.uniform(0.55, 0.9))
    crop_w = min(sw, max(8, int(crop_h * width / height)))
    crop_h = min(crop_h, int(crop_w * height / width))
    y = int(rng.integers(0, sh - crop_h + 1))
    x = int(rng.integers(0, sw - crop_w + 1))
    window = np.ascontiguousarray(scene[y : y + crop_h, x : x + crop_w]).astype(np.uint8)
    return Image.fromarray(window).resize((width, height), Image.BILINEAR)


def _draw_figure(
    canvas: Image.Image,
    person: Identity,
    view: str,
    phase: float,
    cx: float,
    feet_y: float,
    fig_h: float,
    light: float,
    facing_left: bool,
) -> None:
    """Draw the person on its own layer, light it from one side, composite onto the canvas."""
    width, height = canvas.size
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw_cx = width - cx if facing_left else cx
    FigurePainter(ImageDraw.Draw(layer), person, draw_cx, feet_y, fig_h).draw(view, phase)
    if facing_left:
        layer = layer.transpose(Image.FLIP_LEFT_RIGHT)
    box = layer.getbbox()  # light only the figure's bounding box (vectorised)
    if box is None:
        return
    x0, y0, x1, y1 = box
    rgba = np.asarray(layer.crop(box), dtype=np.float32)
    # Side light: a horizontal brightness ramp across the figure, legs a little darker.
    xs = (np.arange(x0, x1, dtype=np.float32) - cx) / (0.25 * fig_h)
    ys = (np.arange(y0, y1, dtype=np.float32) - (feet_y - fig_h)) / fig_h
    ramp = 1.0 + light * np.clip(xs, -1, 1)[None, :] - 0.12 * np.clip(ys, 0, 1)[:, None]
    rgba[..., :3] *= ramp[..., None]
    canvas.alpha_composite(Image.fromarray(np.clip(rgba, 0, 255).astype(np.uint8), "RGBA"), (x0, y0))


def _occluder(canvas: Image.Image, rng: np.random.Generator, seed: int, dataset: str, index: int) -> None:
    """Something between the camera and the person: a pole, luggage, a car, another person."""
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    kind = rng.choice(["pole", "object", "person", "person"])
    if kind == "pole":
        x = rng.uniform(0.05, 0.85) * width
        pw = rng.uniform(0.06, 0.16) * width
        grey = int(rng.integers(60, 170))
        draw.rectangle((x, 0, x + pw, height), fill=(grey, grey, grey + 8))
        draw.rectangle((x + pw * 0.2, 0, x + pw * 0.35, height), fill=(grey + 40, grey + 40, grey + 45))
    elif kind == "object":  # luggage, bins, a car bonnet: covers the lower body
        top = rng.uniform(0.6, 0.82) * height
        x0 = rng.uniform(-0.3, 0.5) * width
        colour = tuple(int(c) for c in rng.integers(20, 200, 3))
        draw.rounded_rectangle(
            (x0, top, x0 + rng.uniform(0.4, 0.9) * width, height * 1.05),
            radius=0.04 * width,
            fill=colour,
            outline=tuple(int(c * 0.6) for c in colour),
            width=2,
        )
    else:  # a passer-by, nearer to the camera, entering from one side
        other = sample_identity(derive_rng(seed, dataset, _IDENTITY, "passer-by", index))
        side = 1 if rng.random() < 0.5 else -1
        cx = width / 2 + side * rng.uniform(0.55, 0.8) * width
        fig_h = height * rng.uniform(0.95, 1.15)
        _draw_figure(
            canvas,
            other,
            str(rng.choice(VIEWS)),
            float(rng.uniform(-1, 1)),
            cx,
            height * rng.uniform(1.0, 1.1),
            fig_h,
            0.0,
            bool(rng.random() < 0.5),
        )


def _camera_model(
    image: Image.Image, style: DatasetStyle, gains: np.ndarray, rng: np.random.Generator, size: tuple[int, int]
) -> Image.Image:
    """Resolution, optics and sensor of the dataset's cameras, applied to the supersampled canvas."""
    height, width = size
    if style.resolution < 1.0:
        low = (max(8, int(width * style.resolution)), max(16, int(height * style.resolution)))
        image = image.resize(low, Image.BOX).resize((width, height), Image.BILINEAR)
    else:
        image = image.resize((width, height), Image.LANCZOS)
    if style.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(style.blur))
    # White balance, light, saturation and contrast are one affine colour map; noise is added
    # in linear space, the gamma curve last through a lookup table.
    gain = gains * np.float32(rng.normal(1.0, 0.04))
    sat = style.saturation * np.eye(3, dtype=np.float32) + (1.0 - style.saturation) * np.outer(np.ones(3), _LUMA)
    matrix = style.contrast * (sat * gain[None, :])
    x = np.asarray(image, dtype=np.float32).reshape(-1, 3) @ matrix.T.astype(np.float32)
    x = x.reshape(height, width, 3) + np.float32(118.0 * (1.0 - style.contrast) + 0.5)
    x += np.float32(style.noise) * rng.standard_normal((height, width, 1), dtype=np.float32)
    x += np.float32(style.noise * 0.35) * rng.standard_normal((height, width, 3), dtype=np.float32)
    encoded = np.clip(x, 0, 255).astype(np.uint8)
    if style.gamma != 1.0:
        encoded = _gamma_table(style.gamma)[encoded]
    return Image.fromarray(encoded, "RGB")


@functools.lru_cache(maxsize=16)
def _gamma_table(gamma: float) -> np.ndarray:
    return np.round(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)


def render_image(spec: ImageSpec, seed: int) -> Image.Image:
    """The RGB image of ``spec`` for ``seed`` (the same pixels in any process, in any order)."""
    style = STYLES[spec.dataset]
    rng = derive_rng(seed, spec.dataset, _IMAGE, spec.index)
    height, width = style.image_size(rng)
    cw, ch = width * SUPERSAMPLE, height * SUPERSAMPLE
    scene, gains = _camera(seed, spec.dataset, spec.camera)
    canvas = _scene_crop(scene, rng, cw, ch)

    view = str(rng.choice(VIEWS, p=style.view_probabilities(spec.camera)))
    phase = float(rng.uniform(-1, 1))
    jitter = style.crop_jitter
    if spec.kind == "fragment":  # a false or cut-off detection: mostly background, a part of someone
        person = identity_of(seed, spec.dataset, ("fragment", spec.index))
        cx = cw * rng.uniform(-0.3, 1.3)
        fig_h = ch * rng.uniform(0.9, 2.2)
        feet_y = ch * rng.uniform(0.9, 1.8)
    else:
        person = identity_of(seed, spec.identity_namespace or spec.dataset, spec.person)
        cx = cw * (0.5 + rng.normal(0.0, jitter))
        fig_h = ch * rng.uniform(0.83, 0.93) * person.height * (1.0 + rng.normal(0.0, jitter * 0.5))
        feet_y = ch * (0.975 + rng.normal(0.0, jitter * 0.4))
    shadow = 0.16 * fig_h  # blended onto the RGB scene (an RGBA canvas would replace, not blend)
    ImageDraw.Draw(canvas, "RGBA").ellipse(
        (cx - shadow, feet_y - 0.02 * fig_h, cx + shadow, feet_y + 0.025 * fig_h), fill=(0, 0, 0, 70)
    )
    canvas = canvas.convert("RGBA")
    _draw_figure(
        canvas, person, view, phase, cx, feet_y, fig_h, float(rng.uniform(-0.18, 0.18)), bool(rng.random() < 0.5)
    )
    if rng.random() < style.occlusion:
        _occluder(canvas, rng, seed, spec.dataset, spec.index)
    return _camera_model(canvas.convert("RGB"), style, gains, rng, (height, width))
