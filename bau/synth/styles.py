"""Per-dataset domain styles: what makes one synthetic dataset look like its real counterpart.

A style fixes everything that is shared by all images of a dataset and differs between
datasets (the domain): image size and aspect, effective resolution, optical blur, sensor
noise, colour cast, contrast, saturation, gamma, JPEG quality, background family, crop
jitter of the detector, how often people are occluded and which views each camera sees.
Styles are constants: the seed only changes the random draws, never the domain itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# View names; "side" is drawn facing right and mirrored half of the time.
VIEWS = ("front", "back", "side")


@dataclass(frozen=True)
class DatasetStyle:
    # Output size: fixed (height, width) or a height range with a width/height aspect range.
    height: tuple[int, int]
    aspect: tuple[float, float]
    # Effective resolution as a fraction of the output size (1 = native, < 1 = upsampled).
    resolution: float
    blur: float  # Gaussian sigma in output pixels
    noise: float  # sensor noise sigma in 0..255 units
    cast: tuple[float, float, float]  # white balance of the whole dataset (RGB gains)
    contrast: float
    saturation: float
    gamma: float  # > 1 darkens mid-tones
    background: str  # family name in bau.synth.backgrounds
    jpeg_quality: int
    crop_jitter: float  # detector misalignment, as a fraction of the box size
    occlusion: float  # probability that an image has an occluder
    camera_wb: float  # std of the per-camera, per-channel white balance gain
    camera_light: float  # std of the per-camera brightness gain
    brightness: float = 1.0
    season: float = 0.5  # clothing prior of the people (bau.synth.identities): 0 summer, 1 winter
    # camera index -> (front, back, side) view probabilities; other cameras use the default.
    camera_views: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    # camera index -> fixed RGB gains replacing the random camera white balance.
    camera_casts: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    # camera index -> background family replacing `background` (e.g. MSMT17's indoor cameras).
    camera_backgrounds: dict[int, str] = field(default_factory=dict)

    def image_size(self, rng: np.random.Generator) -> tuple[int, int]:
        """(height, width) of one image."""
        lo, hi = self.height
        height = lo if lo == hi else int(rng.integers(lo, hi + 1))
        a_lo, a_hi = self.aspect
        aspect = a_lo if a_lo == a_hi else float(rng.uniform(a_lo, a_hi))
        return height, max(16, int(round(height * aspect)))

    def background_family(self, camera: int) -> str:
        return self.camera_backgrounds.get(camera, self.background)

    def view_probabilities(self, camera: int) -> tuple[float, float, float]:
        return self.camera_views.get(camera, (0.36, 0.34, 0.30))


_FRONTAL = (0.48, 0.42, 0.10)
_SIDEWAYS = (0.12, 0.13, 0.75)

# Keys are the dataset folder-level names used by bau.synth.expected_counts.
STYLES: dict[str, DatasetStyle] = {
    # Tsinghua campus in summer, DPM boxes at 128x64: warm, mildly soft, green and paved.
    "market1501": DatasetStyle(
        height=(128, 128),
        aspect=(0.5, 0.5),
        resolution=0.85,
        blur=0.55,
        noise=3.0,
        cast=(1.06, 1.0, 0.9),
        contrast=1.0,
        saturation=1.05,
        gamma=0.95,
        background="campus",
        jpeg_quality=88,
        crop_jitter=0.06,
        occlusion=0.15,
        camera_wb=0.04,
        camera_light=0.08,
        season=0.1,
    ),
    # 15 cameras, indoor and outdoor, several times of day: cool cast, strong lighting spread.
    "msmt17": DatasetStyle(
        height=(128, 256),
        aspect=(0.36, 0.48),
        resolution=0.9,
        blur=0.5,
        noise=4.0,
        cast=(0.86, 0.96, 1.14),
        contrast=0.95,
        saturation=0.9,
        gamma=1.05,
        background="city",
        jpeg_quality=85,
        crop_jitter=0.05,
        occlusion=0.2,
        camera_wb=0.07,
        camera_light=0.18,
        season=0.9,
        camera_backgrounds={12: "indoor", 13: "indoor", 14: "indoor"},
    ),
    # CUHK03 detected boxes: sharp, high contrast, loose detector crops, two view-paired cameras.
    "cuhk03": DatasetStyle(
        height=(160, 240),
        aspect=(0.36, 0.46),
        resolution=1.0,
        blur=0.0,
        noise=1.0,
        cast=(0.94, 1.04, 1.02),
        contrast=1.3,
        saturation=1.1,
        gamma=1.0,
        background="concrete",
        jpeg_quality=95,
        crop_jitter=0.1,
        occlusion=0.08,
        camera_wb=0.03,
        camera_light=0.06,
        brightness=1.1,
        season=0.6,
        camera_views={0: _FRONTAL, 1: _SIDEWAYS},
    ),
    # CUHK02 hand-cropped 160x60: tight boxes, yellowish, soft.
    "cuhk02dg": DatasetStyle(
        height=(160, 160),
        aspect=(0.375, 0.375),
        resolution=0.8,
        blur=0.7,
        noise=2.0,
        cast=(1.05, 1.02, 0.82),
        contrast=0.9,
        saturation=0.95,
        gamma=0.9,
        background="campus_stone",
        jpeg_quality=95,
        crop_jitter=0.02,
        occlusion=0.05,
        camera_wb=0.03,
        camera_light=0.06,
        season=0.4,
        camera_views={c: (_FRONTAL if c % 2 == 0 else _SIDEWAYS) for c in range(10)},
    ),
    # Street snapshots and movie frames: saturated, colourful clutter, many sizes.
    "cuhksysu": DatasetStyle(
        height=(120, 260),
        aspect=(0.36, 0.5),
        resolution=0.95,
        blur=0.3,
        noise=2.0,
        cast=(1.06, 0.95, 1.0),
        contrast=1.1,
        saturation=1.4,
        gamma=1.0,
        background="street",
        jpeg_quality=90,
        crop_jitter=0.05,
        occlusion=0.25,
        camera_wb=0.06,
        camera_light=0.12,
        season=0.45,
    ),
    # Underground station: dark, green-yellow artificial light, very low resolution, noisy.
    "grid": DatasetStyle(
        height=(100, 160),
        aspect=(0.36, 0.48),
        resolution=0.35,
        blur=0.8,
        noise=7.0,
        cast=(0.92, 1.06, 0.78),
        contrast=0.75,
        saturation=0.7,
        gamma=1.35,
        background="underground",
        jpeg_quality=70,
        crop_jitter=0.06,
        occlusion=0.2,
        camera_wb=0.05,
        camera_light=0.15,
        brightness=0.85,
        season=0.7,
    ),
    # Airport arrival hall: warm tungsten light, crowded, luggage occlusions.
    "ilids": DatasetStyle(
        height=(120, 200),
        aspect=(0.4, 0.5),
        resolution=0.7,
        blur=0.6,
        noise=4.0,
        cast=(1.12, 0.98, 0.78),
        contrast=0.85,
        saturation=0.9,
        gamma=1.05,
        background="hall",
        jpeg_quality=80,
        crop_jitter=0.06,
        occlusion=0.4,
        camera_wb=0.03,
        camera_light=0.08,
        season=0.75,
    ),
    # Two outdoor cameras with very different light: cam_a green daylight, cam_b blue shade.
    "prid": DatasetStyle(
        height=(128, 128),
        aspect=(0.5, 0.5),
        resolution=0.6,
        blur=0.7,
        noise=3.0,
        cast=(1.0, 1.0, 1.0),
        contrast=0.9,
        saturation=0.85,
        gamma=1.0,
        background="road",
        jpeg_quality=95,
        crop_jitter=0.03,
        occlusion=0.05,
        camera_wb=0.0,
        camera_light=0.05,
        season=0.35,
        camera_views={0: (0.2, 0.3, 0.5), 1: (0.3, 0.2, 0.5)},
        camera_casts={0: (0.95, 1.08, 0.85), 1: (0.82, 0.92, 1.15)},
    ),
    # 128x48, low resolution, a viewpoint change of about 90 degrees between the cameras.
    "viper": DatasetStyle(
        height=(128, 128),
        aspect=(0.375, 0.375),
        resolution=0.5,
        blur=0.6,
        noise=3.5,
        cast=(1.0, 0.98, 0.96),
        contrast=1.05,
        saturation=0.9,
        gamma=1.0,
        background="outdoor",
        jpeg_quality=95,
        crop_jitter=0.03,
        occlusion=0.05,
        camera_wb=0.08,
        camera_light=0.15,
        season=0.15,
        camera_views={0: _FRONTAL, 1: _SIDEWAYS},
    ),
}


def camera_gains(style: DatasetStyle, rng: np.random.Generator, camera: int) -> np.ndarray:
    """RGB gains of one camera: dataset cast x camera white balance x camera brightness."""
    if camera in style.camera_casts:
        white_balance = np.asarray(style.camera_casts[camera])
    else:
        white_balance = 1.0 + rng.normal(0.0, style.camera_wb, 3)
    light = style.brightness * float(np.clip(1.0 + rng.normal(0.0, style.camera_light), 0.6, 1.4))
    return np.asarray(style.cast) * white_balance * light
