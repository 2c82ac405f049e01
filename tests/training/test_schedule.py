"""WarmupMultiStepLR: the values of docs/reference.md §4.2, stepped once per epoch."""

import pytest
import torch

from bau.errors import ConfigError
from bau.training.schedule import WarmupMultiStepLR

# docs/reference.md §4.2: lr of each 0-based epoch with the paper's settings.
REFERENCE_LR = {
    0: 3.5e-6,
    1: 3.815e-5,
    2: 7.28e-5,
    3: 1.0745e-4,
    4: 1.421e-4,
    5: 1.7675e-4,
    6: 2.114e-4,
    7: 2.4605e-4,
    8: 2.807e-4,
    9: 3.1535e-4,
    **{e: 3.5e-4 for e in range(10, 30)},
    **{e: 3.5e-5 for e in range(30, 50)},
    **{e: 3.5e-6 for e in range(50, 60)},
}


def make_optimizer(groups: int = 3) -> torch.optim.Adam:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 3.5e-4, "weight_decay": 5e-4} for _ in range(groups)
    ]
    return torch.optim.Adam(params, lr=3.5e-4)


def paper_scheduler(optimizer):
    return WarmupMultiStepLR(optimizer, milestones=[30, 50], gamma=0.1, warmup_factor=0.01, warmup_epochs=10)


def test_reference_values_per_epoch():
    optimizer = make_optimizer()
    scheduler = paper_scheduler(optimizer)
    seen = {}
    for epoch in range(60):
        lrs = {group["lr"] for group in optimizer.param_groups}
        assert len(lrs) == 1, "every parameter group has the same lr"
        seen[epoch] = lrs.pop()
        optimizer.step()
        scheduler.step()
    assert seen.keys() == REFERENCE_LR.keys()
    for epoch, expected in REFERENCE_LR.items():
        assert seen[epoch] == pytest.approx(expected, rel=1e-12, abs=0), f"epoch {epoch}"


def test_resumed_scheduler_continues_exactly():
    optimizer = make_optimizer(1)
    scheduler = paper_scheduler(optimizer)
    for _ in range(33):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    fresh_optimizer = make_optimizer(1)
    resumed = paper_scheduler(fresh_optimizer)
    resumed.load_state_dict(state)
    fresh_optimizer.param_groups[0]["lr"] = resumed.get_last_lr()[0]
    for _ in range(10):
        optimizer.step()
        scheduler.step()
        fresh_optimizer.step()
        resumed.step()
        assert fresh_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_no_warmup_and_milestone_order():
    optimizer = make_optimizer(1)
    scheduler = WarmupMultiStepLR(optimizer, milestones=[2], gamma=0.5, warmup_factor=0.01, warmup_epochs=0)
    assert [scheduler.factor(e) for e in range(4)] == [1.0, 1.0, 0.5, 0.5]
    with pytest.raises(ConfigError, match="milestones must be increasing"):
        WarmupMultiStepLR(make_optimizer(1), milestones=[50, 30])
