"""Pretrained weights: ``model.pretrained`` = ``imagenet``, ``none`` or the path of a weights file.

Every source ends up as a state dict in its own key names (torchvision's, timm's, a reference
checkpoint's ``module.base...``, or this package's), copied into the model by name and shape:
:func:`load_matching` maps foreign names through the model's ``foreign_prefixes``, lets the
model adapt a tensor (the ViT position embedding), and reports what it skipped and what the
model did not get. Files are read with ``torch.load(weights_only=True)``, never unpickled code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision.models import WeightsEnum

from bau.errors import ConfigError
from bau.models.head import ReIDModel

log = logging.getLogger(__name__)

#: Keys under which checkpoints nest their state dict (bau checkpoints, common trainers).
NESTED_STATE_KEYS = ("model", "state_dict")
#: Key prefixes of :class:`ReIDModel` state dicts (this package's, the reference's).
OWN_PREFIXES = ("base.", "pool.", "bn_neck.")


@dataclass
class LoadReport:
    """What :func:`load_matching` did: loaded model keys, skipped file keys (with why), model keys not in the file."""

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def summary(self, limit: int = 8) -> str:
        def listed(items: list[str]) -> str:
            more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        text = f"loaded {len(self.loaded)} tensors from {self.source}"
        if self.skipped:
            text += "; skipped " + listed([f"{k} ({why})" for k, why in self.skipped.items()])
        if self.missing:
            text += "; not in the file (kept as initialised): " + listed(self.missing)
        return text


def load_pretrained(model: ReIDModel, pretrained: str) -> LoadReport | None:
    """Load ``pretrained`` (``imagenet``, ``none`` or a file path) into ``model``; None for ``none``."""
    if pretrained == "none":
        return None
    if pretrained == "imagenet":
        return load_matching(model, model.imagenet_state_dict(), f"the ImageNet weights of {arch_name(model)}")
    return load_matching(model, read_weights_file(pretrained), str(pretrained))


def arch_name(model: ReIDModel) -> str:
    return model.model_config.get("arch", type(model).__name__)


def read_weights_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file (``.pth``/``.pt`` via torch.load, or ``.safetensors``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"model.pretrained: weights file {path} does not exist. Give the path of a weights file, "
            "'imagenet' (torchvision/timm ImageNet weights) or 'none' (random initialisation)"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(path)
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch/safetensors raise many unrelated types for unreadable files
        raise ConfigError(
            f"model.pretrained: cannot read {path} as a weights file with torch.load(weights_only=True): "
            f"{err}. Re-save it as a plain state dict: torch.save(model.state_dict(), PATH)"
        ) from err
    state = _unwrap_state_dict(obj)
    if not state:
        raise ConfigError(
            f"model.pretrained: {path} holds no tensors (expected a state dict of parameter name -> tensor)"
        )
    return state


def _unwrap_state_dict(obj: object) -> dict[str, torch.Tensor]:
    while isinstance(obj, Mapping):
        nested = [obj[k] for k in NESTED_STATE_KEYS if isinstance(obj.get(k), Mapping)]
        if not nested:
            break
        obj = nested[0]
    if not isinstance(obj, Mapping):
        return {}
    return {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def load_matching(model: ReIDModel, state: Mapping[str, torch.Tensor], source: str) -> LoadReport:
    """Copy every tensor of ``state`` whose (mapped) name and shape match a model tensor."""
    own = model.state_dict()
    report = LoadReport(source)
    matched: dict[str, torch.Tensor] = {}
    # A file in this package's names (a bau or reference checkpoint) is matched name for name;
    # any other (timm, torchvision) only through the model's foreign prefixes, so that its
    # ImageNet head (timm MobileNetV2's ``classifier.*``) never lands in the re-ID classifier.
    own_names = any(key.removeprefix("module.").startswith(OWN_PREFIXES) for key in state)
    for key, value in state.items():
        target = _own_key(key, own, model.foreign_prefixes, own_names)
        if target is None:
            report.skipped[key] = "not in the model"
            continue
        value = model.adapt_weight(target, value)
        if value.shape != own[target].shape:
            report.skipped[key] = f"shape {tuple(value.shape)} != model's {tuple(own[target].shape)}"
            continue
        matched[target] = value
    if not matched:
        raise ConfigError(
            f"model.pretrained: no tensor of {source} matches a parameter of model.arch "
            f"{arch_name(model)} by name and shape (its keys start with {sorted(state)[:3]}). "
            "Is it the weights of another architecture?"
        )
    model.load_state_dict(matched, strict=False)
    report.loaded = list(matched)
    report.missing = [key for key in own if key not in matched]
    shape_skips = any(why.startswith("shape") for why in report.skipped.values())
    log.log(logging.WARNING if shape_skips else logging.INFO, "%s", report.summary())
    return report


def _own_key(
    key: str, own: Mapping[str, torch.Tensor], prefixes: tuple[tuple[str, str], ...], own_names: bool
) -> str | None:
    if own_names:
        key = key.removeprefix("module.")  # DataParallel / DDP checkpoints (the reference's)
        return key if key in own else None
    for foreign, mine in prefixes:
        if key.startswith(foreign) and (candidate := mine + key[len(foreign) :]) in own:
            return candidate
    return None


def fetch_torchvision(weights: WeightsEnum) -> dict[str, torch.Tensor]:
    """State dict of a torchvision ``WeightsEnum`` member (downloaded once into torch's hub cache)."""
    try:
        return weights.get_state_dict(progress=False)
    except Exception as err:  # URLError, HTTPError, hash mismatch (RuntimeError), OSError...
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise ConfigError(
            f"model.pretrained=imagenet: cannot fetch torchvision {weights} from {weights.url}: {err}. "
            f"Without internet access, download that file on a machine that has it and either set "
            f"model.pretrained to its path, or copy it into {cache}/; or use model.pretrained: none"
        ) from err


def fetch_timm(tag: str) -> dict[str, torch.Tensor]:
    """State dict of the timm pretrained model ``tag`` (Hugging Face hub or timm's URL, cached)."""
    import timm
    from timm.models import get_pretrained_cfg

    try:
        return timm.create_model(tag, pretrained=True, num_classes=0).state_dict()
    except Exception as err:  # huggingface_hub / urllib raise many unrelated types when offline
        cfg = get_pretrained_cfg(tag)
        where = " or ".join(filter(None, [cfg.url, cfg.hf_hub_id and f"https://huggingface.co/{cfg.hf_hub_id}"]))
        raise ConfigError(
            f"model.pretrained=imagenet: cannot fetch the timm weights {tag}: {err}. Without internet "
            f"access, download them ({where}) on a machine that has it and set model.pretrained to the "
            "file's path (.pth or .safetensors); or use model.pretrained: none"
        ) from err
