"""The reference's learning-rate schedule: linear warm-up, then step decay, stepped per epoch."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from bau.errors import ConfigError


class WarmupMultiStepLR(LRScheduler):
    """lr(e) = base_lr * warm(e) * gamma ** (number of milestones <= e), e = 0-based epoch.

    warm(e) = warmup_factor * (1 - e / warmup_epochs) + e / warmup_epochs while
    e < warmup_epochs, else 1 (docs/reference.md §4.2). The value is computed in closed form from
    ``last_epoch``, so a resumed scheduler gives exactly the values of an uninterrupted one.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        warmup_factor: float = 0.01,
        warmup_epochs: int = 10,
        last_epoch: int = -1,
    ) -> None:
        if list(milestones) != sorted(milestones):
            raise ConfigError(f"train.milestones must be increasing, got {list(milestones)}; sort them")
        self.milestones = list(milestones)
        self.gamma = gamma
        self.warmup_factor = warmup_factor
        self.warmup_epochs = warmup_epochs
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int) -> float:
        """The multiplier of the base learning rate during 0-based ``epoch``."""
        warm = 1.0
        if epoch < self.warmup_epochs:
            alpha = epoch / self.warmup_epochs
            warm = self.warmup_factor * (1 - alpha) + alpha
        # bisect_right: a milestone's decay applies from that epoch on (as the reference).
        return warm * self.gamma ** bisect.bisect_right(self.milestones, epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.factor(self.last_epoch) for base_lr in self.base_lrs]
