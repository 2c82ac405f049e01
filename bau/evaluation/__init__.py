"""Evaluation: feature extraction, evaluation over a dataset's splits, and the public extractor.

Modules: ``features`` (:func:`extract_features`), ``evaluate`` (:func:`evaluate_model`, its
:class:`EvalOptions` and the :data:`SUMMARY_METRICS`),
``extractor`` (:class:`bau.FeatureExtractor`), ``cli`` (``bau evaluate``), ``extract_cli``
(``bau extract``). The ranking metrics themselves are in :mod:`bau.metrics`.
"""

from bau.evaluation.evaluate import SUMMARY_METRICS, EvalOptions, evaluate_model
from bau.evaluation.features import extract_features

__all__ = ["SUMMARY_METRICS", "EvalOptions", "evaluate_model", "extract_features"]
