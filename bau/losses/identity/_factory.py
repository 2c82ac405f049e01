"""Build the identity loss that ``method.id_loss`` names, checking its hyper-parameters."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from bau.errors import ConfigError
from bau.losses.identity._registry import list_id_losses, lookup_id_loss
from bau.losses.identity.base import IdentityLoss

KEY = "method.id_loss"


def create_id_loss(spec: Mapping[str, Any] | str, num_classes: int, feat_dim: int) -> IdentityLoss:
    """The identity loss of ``spec`` = ``{name: ..., **hyper-parameters}`` (or just the name).

    ``name`` is a registered loss (``ce``, ``arcface``, ``pcl``, or one registered with
    :func:`register_id_loss`), or ``package.module:name`` to import the module that registers
    it first. Hyper-parameters left out take the loss's documented defaults.
    """
    params = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = params.pop("name", "ce")
    if not isinstance(name, str):
        raise ConfigError(f"{KEY}.name must be a string, got {name!r}")
    cls = _find(name)
    allowed = _hyper_parameters(cls)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        keys = ", ".join(f"'{KEY}.{key}'" for key in unknown)
        known = ", ".join(allowed) or "none"
        raise ConfigError(f"unknown key {keys} for identity loss {name!r}; its hyper-parameters: {known}")
    try:
        return cls(num_classes, feat_dim, **params)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{KEY} ({name}): {err}") from err


def _find(name: str) -> type[IdentityLoss]:
    if ":" in name:
        module, _, name = name.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(f"{KEY}.name: cannot import module {module!r}: {err}") from err
    cls = lookup_id_loss(name)
    if cls is None:
        raise ConfigError(
            f"{KEY}.name: unknown identity loss {name!r}; choose one of {', '.join(list_id_losses())}, "
            "or register yours with @register_id_loss (README: Add your own method)"
        )
    return cls


def _hyper_parameters(cls: type[IdentityLoss]) -> list[str]:
    """The keyword arguments of ``cls`` after ``num_classes`` and ``feat_dim``."""
    params = list(inspect.signature(cls.__init__).parameters.values())[3:]  # self, num_classes, feat_dim
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
