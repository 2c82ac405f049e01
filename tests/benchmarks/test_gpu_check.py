"""benchmarks/gpu_check.py: its CPU-side logic (the checks themselves need a CUDA device)."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks import gpu_check


def test_arguments_default_to_every_check():
    args = gpu_check.parse_args([])
    assert args.skip == [] and args.batches == [64, 256] and args.iters == 200
    args = gpu_check.parse_args(["--skip", "train-synthetic", "cuda-tests", "--batches", "32"])
    assert args.skip == ["train-synthetic", "cuda-tests"] and args.batches == [32]
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--skip", "no-such-check"])


def test_without_cuda_it_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    assert "no CUDA device" in capsys.readouterr().out


def test_loss_falls():
    falling = [3.0 - 0.01 * i for i in range(200)]
    ok, message = gpu_check.loss_falls(falling)
    assert ok and "falls" in message and "2.9" in message  # first 20 average 2.905
    ok, message = gpu_check.loss_falls(falling[::-1])
    assert not ok and "does not fall" in message
    ok, message = gpu_check.loss_falls(falling[:10] + [math.nan] + falling[11:])
    assert not ok and "non-finite loss at iteration 11" in message
    ok, message = gpu_check.loss_falls(falling[:39])
    assert not ok and "only 39 losses" in message
    assert not gpu_check.loss_falls([1.0] * 40)[0]  # flat is not falling


def test_report_lists_each_check_and_the_failures():
    results = [
        gpu_check.CheckResult("cuda-tests", True, 12.3, ["5 passed in 3.1s"]),
        gpu_check.CheckResult("eval-msmt17", False, 40.0, ["mAP difference 0.1"]),
    ]
    report = gpu_check.format_report(results, "NVIDIA H200").splitlines()
    assert report == [
        "GPU check on NVIDIA H200",
        "[PASS] cuda-tests (12 s)",
        "    5 passed in 3.1s",
        "[FAIL] eval-msmt17 (40 s)",
        "    mAP difference 0.1",
        "1/2 checks passed; failed: eval-msmt17",
    ]


def test_a_check_that_raises_fails_without_stopping_the_run(capsys):
    def broken():
        raise RuntimeError("CUDA out of memory")

    result = gpu_check.run_check("train-step", broken)
    assert not result.passed and "RuntimeError: CUDA out of memory" in result.lines[-1]
    assert "[FAIL] train-step" in capsys.readouterr().out
