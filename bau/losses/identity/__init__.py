"""Identity losses: a registry beside the backbones'.

``method.id_loss: {name: ..., **hyper-parameters}`` picks one; :func:`create_id_loss` builds
it. Built in: ``ce`` (the reference's label-smoothed cross-entropy, the default), ``arcface``
and ``pcl``. Every module of this package is imported with it, so a new loss is one module
here whose :class:`IdentityLoss` subclass carries ``@register_id_loss("name")``, plus the
config entry; a module elsewhere is named as ``package.module:name``.
"""

from __future__ import annotations

import importlib
import pkgutil

from bau.losses.identity._factory import create_id_loss
from bau.losses.identity._registry import list_id_losses, register_id_loss
from bau.losses.identity.base import IdentityLoss
from bau.losses.identity.ce import cross_entropy_label_smooth

__all__ = ["IdentityLoss", "create_id_loss", "cross_entropy_label_smooth", "list_id_losses", "register_id_loss"]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
