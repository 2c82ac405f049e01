"""Re-ID models (docs/reference.md §3): a registry of architectures sharing one head.

- :func:`create_model` builds ``resnet50`` (the reference's), ``resnet18`` (same structure,
  for CPU runs), ``mobilenetv2`` (x1.4), ``vitbase`` (ViT-B/16 at 256x128) or ``vittiny``
  (ViT-Ti/16, same structure, for CPU runs), with
  ``pretrained`` = ``imagenet``, ``none`` or a weights file (:mod:`bau.models.weights`).
- :func:`load_model` rebuilds a model from a training checkpoint.
- :func:`param_groups` gives the reference's optimizer groups.
- :func:`bau.models.views.forward_views` runs the weak and strong views (per-view BatchNorm).

Modules: ``pooling`` (GeM), ``head`` (BNNeck, :class:`ReIDModel`), ``resnet``, ``mobilenet``,
``vit`` (architectures), ``weights``, ``registry``, ``views``.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from bau.models.head import BNNeck, ReIDModel, TrainOutputs
from bau.models.registry import create_model, list_models, register_model

# Importing the architecture modules registers them.
from bau.models import mobilenet, resnet, vit  # noqa: E402,F401  isort: skip

__all__ = [
    "BNNeck",
    "ReIDModel",
    "TrainOutputs",
    "create_model",
    "list_models",
    "load_model",
    "param_groups",
    "register_model",
]


def load_model(
    checkpoint_path: str | os.PathLike, device: str | torch.device = "cpu", num_classes: int | None = None
) -> tuple[ReIDModel, dict[str, Any]]:
    """The model of a ``bau-checkpoint-v1`` file, in eval mode on ``device``, and the checkpoint dict.

    ``num_classes=None`` keeps the saved classifier; ``0`` drops it (inference needs none).
    """
    from bau.checkpoint import load_checkpoint
    from bau.errors import TrainingError

    checkpoint = load_checkpoint(checkpoint_path)
    config = checkpoint.get("model_config")
    if not isinstance(config, dict) or "arch" not in config:
        raise TrainingError(
            f"{checkpoint_path} has no model_config (arch, num_classes, height, width); was it written by bau train?"
        )
    saved_classes = config["num_classes"]
    if num_classes not in (None, 0, saved_classes):
        raise TrainingError(
            f"{checkpoint_path} has a classifier for {saved_classes} identities, not {num_classes}; "
            "pass num_classes=None (keep it) or 0 (drop it)"
        )
    num_classes = saved_classes if num_classes is None else num_classes
    model = create_model(config["arch"], num_classes, height=config["height"], width=config["width"])
    state = {key.removeprefix("module."): value for key, value in checkpoint["model"].items()}
    if num_classes == 0:
        state = {key: value for key, value in state.items() if not key.startswith("classifier.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise TrainingError(f"{checkpoint_path}: the saved weights do not fit model {config}: {err}") from err
    return model.to(device).eval(), checkpoint


def param_groups(model: torch.nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """One Adam group per trainable parameter, each with ``lr`` and ``weight_decay`` (docs/reference.md §4.1 step 5).

    Every trainable parameter is decayed (BN affine, GeM p and classifier included); frozen
    ones (the BNNeck bias) are left out.
    """
    return [
        {"params": [param], "lr": lr, "weight_decay": weight_decay}
        for param in model.parameters()
        if param.requires_grad
    ]
