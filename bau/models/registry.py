"""Architecture registry (timm style): ``@register_model`` builders, looked up by :func:`create_model`."""

from __future__ import annotations

from collections.abc import Callable

from bau.errors import ConfigError
from bau.models.head import ReIDModel
from bau.models.weights import load_pretrained

#: A builder makes a randomly initialised model: ``fn(num_classes, *, height, width)``.
Builder = Callable[..., ReIDModel]

_BUILDERS: dict[str, Builder] = {}


def register_model(fn: Builder) -> Builder:
    """Register ``fn`` under its function name as an architecture (``model.arch``)."""
    if fn.__name__ in _BUILDERS:
        raise ValueError(f"model architecture {fn.__name__!r} is registered twice")
    _BUILDERS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def create_model(
    arch: str, num_classes: int, *, pretrained: str = "none", height: int = 256, width: int = 128
) -> ReIDModel:
    """Build ``arch`` for ``num_classes`` identities (0: no classifier) at ``height`` x ``width`` input.

    ``pretrained``: ``none`` (random initialisation), ``imagenet`` (torchvision / timm weights,
    fetched or taken from their caches) or the path of a weights file (matched by name and shape).
    """
    if arch not in _BUILDERS:
        raise ConfigError(f"model.arch: unknown architecture {arch!r}; choose one of {', '.join(list_models())}")
    model = _BUILDERS[arch](num_classes, height=height, width=width)
    model.model_config = {"arch": arch, "num_classes": num_classes, "height": height, "width": width}
    load_pretrained(model, pretrained)
    return model
