"""Training: the resumable BAU trainer and ``bau train``.

Modules: ``trainer`` (the :class:`Trainer`: data, model, memory, epochs, evaluation,
checkpoints), ``objective`` (the BAU loss of one batch), ``terms`` (which loss terms a
method uses), ``memory`` (the domain loss's prototype memory), ``optim`` and ``schedule``
(Adam and WarmupMultiStepLR of the reference), ``seeding`` (per-epoch RNG seeding),
``runlog`` (the run's logs), ``cli``. The checkpoint file is :mod:`bau.checkpoint`.
"""

__all__ = ["Trainer", "WarmupMultiStepLR", "compute_losses"]


def __getattr__(name: str):
    # Lazy, so that the argument parsing of `bau train` does not import the whole pipeline.
    if name == "Trainer":
        from bau.training.trainer import Trainer

        return Trainer
    if name == "WarmupMultiStepLR":
        from bau.training.schedule import WarmupMultiStepLR

        return WarmupMultiStepLR
    if name == "compute_losses":
        from bau.training.objective import compute_losses

        return compute_losses
    raise AttributeError(f"module 'bau.training' has no attribute {name!r}")
