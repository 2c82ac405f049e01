"""Evaluation: feature extraction, evaluation over a dataset's splits, and the public extractor.

Modules: ``options`` (:class:`EvalOptions`, torch-free), ``features`` (:func:`extract_features`),
``evaluate`` (:func:`evaluate_model` and the :data:`SUMMARY_METRICS`), ``extractor``
(:class:`bau.FeatureExtractor`), ``cli`` (``bau evaluate``), ``extract_cli`` (``bau extract``).
The ranking metrics themselves are in :mod:`bau.metrics`.

The names below are loaded on first use, so that importing ``bau.evaluation.cli`` or
``bau.evaluation.options`` does not import torch (``bau evaluate`` reuses a run's own
evaluation without it).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SUMMARY_METRICS": "bau.evaluation.evaluate",
    "evaluate_model": "bau.evaluation.evaluate",
    "EvalOptions": "bau.evaluation.options",
    "extract_features": "bau.evaluation.features",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
