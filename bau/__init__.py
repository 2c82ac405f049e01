"""BAU: generalizable person re-identification via Balancing Alignment and Uniformity.

The library holds all logic; the Snakemake workflow in ``workflow/`` only calls into it.
Data flows one way: config -> data -> models -> losses -> training -> checkpoints ->
evaluation -> metrics -> report (tables, figures).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "FeatureExtractor"]


def __getattr__(name: str):
    # Lazy so that `import bau` (and `bau --help`) does not import torch.
    if name == "FeatureExtractor":
        from bau.evaluation.extractor import FeatureExtractor

        return FeatureExtractor
    raise AttributeError(f"module 'bau' has no attribute {name!r}")
