"""Identity-loss registry (timm style): ``@register_id_loss(name)`` classes, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bau.losses.identity.base import IdentityLoss

L = TypeVar("L", bound=type[IdentityLoss])

_LOSSES: dict[str, type[IdentityLoss]] = {}


def register_id_loss(name: str) -> Callable[[L], L]:
    """Class decorator: register an :class:`IdentityLoss` subclass as ``method.id_loss.name``."""

    def register(cls: L) -> L:
        if not (isinstance(cls, type) and issubclass(cls, IdentityLoss)):
            raise TypeError(f"register_id_loss({name!r}) decorates IdentityLoss subclasses, not {cls!r}")
        if name in _LOSSES:
            raise ValueError(
                f"identity loss {name!r} is registered twice ({_LOSSES[name].__qualname__}, {cls.__qualname__})"
            )
        _LOSSES[name] = cls
        return cls

    return register


def list_id_losses() -> list[str]:
    return sorted(_LOSSES)


def lookup_id_loss(name: str) -> type[IdentityLoss] | None:
    return _LOSSES.get(name)
