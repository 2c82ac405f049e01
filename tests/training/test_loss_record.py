"""final.json's training record: first- and last-epoch mean losses, and the flag of a run that
ended while its loss was still falling steeply (bau.training.runlog.loss_record)."""

from __future__ import annotations

import json

import pytest

from bau.training.runlog import STEEP_FALL, epoch_means, loss_record


def _records(ce_by_epoch: dict[int, list[float]], **extra) -> list[dict]:
    return [
        {"epoch": epoch, "iter": i + 1, "ce": ce, "tri": 1.0, "align": None, **extra}
        for epoch, values in ce_by_epoch.items()
        for i, ce in enumerate(values)
    ]


def test_epoch_means_leave_out_unused_terms():
    means = epoch_means(_records({1: [6.0, 5.0], 2: [4.0, 2.0]}), ("ce", "tri", "align"))
    assert means == {1: {"ce": 5.5, "tri": 1.0}, 2: {"ce": 3.0, "tri": 1.0}}


def test_a_run_still_falling_steeply_is_flagged():
    # epochs 5.5 -> 4.0 -> 3.0: the last epoch is 3.0 / 4.0 = 0.75 of the previous, below 0.9
    record = loss_record(_records({1: [6.0, 5.0], 2: [4.5, 3.5], 3: [3.0, 3.0]}), ("ce", "tri"))
    assert record["first_epoch"] == {"epoch": 1, "ce": 5.5, "tri": 1.0}
    assert record["last_epoch"] == {"epoch": 3, "ce": 3.0, "tri": 1.0}
    assert record["previous_epoch"]["ce"] == 4.0
    assert record["still_falling"] is True
    assert f"< {STEEP_FALL} x the previous epoch's" in record["rule"]


def test_a_run_that_barely_trained_is_flagged():
    # 5.5 -> 3.0 is 0.545 of the first epoch's mean: above one half
    assert loss_record(_records({1: [6.0, 5.0], 2: [3.0, 3.0]}), ("ce",))["undertrained"] is True
    # 5.5 -> 2.75 is exactly one half: trained
    record = loss_record(_records({1: [6.0, 5.0], 2: [3.0, 2.5]}), ("ce",))
    assert record["undertrained"] is False
    assert "undertrained: last-epoch mean ce > 0.5 x the first epoch's" in record["rule"]
    # one epoch: nothing to compare with
    assert loss_record(_records({1: [5.0, 1.0]}), ("ce",))["undertrained"] is False


def test_a_flat_end_is_not_flagged():
    # 3.0 -> 2.8: 0.93 of the previous epoch, above 0.9
    assert loss_record(_records({1: [5.0], 2: [3.0], 3: [2.8]}), ("ce",))["still_falling"] is False
    # exactly 0.9 is not below it
    assert loss_record(_records({1: [2.0], 2: [1.8]}), ("ce",))["still_falling"] is False
    # one epoch: nothing to compare with
    one = loss_record(_records({1: [5.0, 1.0]}), ("ce",))
    assert one["still_falling"] is False and one["previous_epoch"] is None
    assert loss_record([], ("ce",))["first_epoch"] is None


@pytest.mark.slow
def test_trainer_writes_the_record_into_final_json_and_the_log(tmp_path):
    torch = pytest.importorskip("torch")
    from bau.config import validate_run
    from bau.training import Trainer
    from tests.fixtures.datasets import write_benchmark
    from tests.training.tiny_data import tiny_run_config

    torch.set_num_threads(1)
    cfg = validate_run(tiny_run_config(write_benchmark(tmp_path / "data"), epochs=2, iters=3, eval_epochs=[2]))
    final = Trainer(cfg, tmp_path / "run").run()
    records = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    first_ce = sum(r["ce"] for r in records if r["epoch"] == 1) / 3
    last_ce = sum(r["ce"] for r in records if r["epoch"] == 2) / 3
    losses = json.loads((tmp_path / "run" / "final.json").read_text())["losses"]
    assert losses == final["losses"]
    assert losses["first_epoch"]["ce"] == pytest.approx(first_ce)
    assert losses["last_epoch"]["ce"] == pytest.approx(last_ce)
    assert {"loss", "ce", "tri"} <= set(losses["last_epoch"])
    assert losses["still_falling"] == (last_ce < STEEP_FALL * first_ce)
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "mean losses, epoch 1 -> epoch 2: loss" in log
    assert ("still falling steeply" in log) == losses["still_falling"]
    assert ("the run barely trained" in log) == losses["undertrained"] == (last_ce > 0.5 * first_ce)
