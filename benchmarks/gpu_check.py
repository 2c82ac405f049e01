"""GPU check: what this project can only test with a CUDA device, in one run of a few minutes.

Sized to finish in under 8 minutes on one H100/H200 (not yet run on one); prints a report of four checks:

1. ``cuda-tests``: the tests marked ``cuda`` (skipped on CPU-only machines) pass;
2. ``train-step``: one BAU training step (ResNet-50, 256x128, fp16 autocast + GradScaler,
   both views with per-view BatchNorm statistics) at batch 64 and 256: images/s and peak
   GPU memory, next to a step written like the official one (one forward of both views
   concatenated, no DataParallel; ``benchmarks/train_step_speed.py``, ``official_step``);
3. ``eval-msmt17``: ``bau.metrics.evaluate_rank`` on GPU at MSMT17 size (11,659 x 82,161,
   2048-d; ``benchmarks/eval_speed.py`` features): time and peak memory; the GPU ranking of
   the GPU distances must equal the CPU ranking of the same distances, and the metrics
   must agree with the all-CPU evaluation up to the rounding of the two GEMMs;
4. ``train-synthetic``: ``bau train`` for 200 iterations on the synthetic benchmark
   (``bau synth --scale tiny``), ResNet-50 from scratch at 256x128, fp16: no NaN, and the
   loss falls (mean of the last 20 iterations below the mean of the first 20).

Without CUDA it says so and exits 0. Exit status 1 if a check fails.

    python benchmarks/gpu_check.py [--work /tmp/gpu_check] [--skip train-synthetic]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("cuda-tests", "train-step", "eval-msmt17", "train-synthetic")
REPO = Path(__file__).resolve().parent.parent
#: Iterations compared at the start and end of the synthetic training by :func:`loss_falls`.
LOSS_WINDOW = 20


@dataclass
class CheckResult:
    name: str
    passed: bool
    seconds: float
    lines: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="folder for the synthetic data and run (default: a temporary one)")
    parser.add_argument("--skip", nargs="+", choices=CHECKS, default=[], help="checks to leave out")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="train-step batch sizes")
    parser.add_argument("--iters", type=int, default=200, help="train-synthetic iterations (two epochs)")
    return parser.parse_args(argv)


def loss_falls(losses: Sequence[float], window: int = LOSS_WINDOW) -> tuple[bool, str]:
    """Whether a training's losses are all finite and the last ``window`` average below the first ``window``."""
    if len(losses) < 2 * window:
        return False, f"only {len(losses)} losses, need at least {2 * window}"
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    if bad:
        return False, f"non-finite loss at iteration {bad[0] + 1} ({len(bad)} in all)"
    first, last = sum(losses[:window]) / window, sum(losses[-window:]) / window
    verdict = "falls" if last < first else "does not fall"
    return (
        last < first,
        f"loss {verdict}: mean of the first {window} iterations {first:.4f}, of the last {window} {last:.4f}",
    )


def format_report(results: Sequence[CheckResult], device: str) -> str:
    """The closing report: one line per check, its details indented below."""
    lines = [f"GPU check on {device}"]
    for r in results:
        lines.append(status_line(r))
        lines.extend(f"    {line}" for line in r.lines)
    failed = [r.name for r in results if not r.passed]
    lines.append(
        f"{len(results) - len(failed)}/{len(results)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return "\n".join(lines)


def status_line(result: CheckResult) -> str:
    return f"[{'PASS' if result.passed else 'FAIL'}] {result.name} ({result.seconds:.0f} s)"


def run_check(name: str, check: Callable[[], tuple[bool, list[str]]]) -> CheckResult:
    """Run one check; an exception fails it with the traceback's tail instead of stopping the others."""
    started = time.perf_counter()
    try:
        passed, lines = check()
    except Exception:  # noqa: BLE001 - reported, and the other checks still run
        passed, lines = False, traceback.format_exc().strip().splitlines()[-8:]
    result = CheckResult(name, passed, time.perf_counter() - started, lines)
    print(status_line(result), flush=True)
    return result


# ----------------------------------------------------------------------------- checks (CUDA)


def check_cuda_tests() -> tuple[bool, list[str]]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "tests"]
    proc = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
    ok = proc.returncode == 0 and bool(tail) and "passed" in tail[0] and "skipped" not in tail[0]
    return ok, [" ".join(cmd[1:]), *tail, *([] if ok else proc.stdout.strip().splitlines()[-15:])]


def _benchmarks_module(name: str):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    return __import__(name)


def check_train_step(batches: Sequence[int], warmup: int = 3, iters: int = 10) -> tuple[bool, list[str]]:
    import torch

    tss = _benchmarks_module("train_step_speed")
    torch.backends.cudnn.benchmark = True
    lines, ok = [], True
    for batch in batches:
        for name in ("bau", "official"):
            s = tss.build("resnet50", batch, 4, 256, 128, num_classes=1000, device="cuda", amp="fp16")
            step = tss.bau_step if name == "bau" else tss.official_step
            for _ in range(warmup):
                step(s)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            times, losses = [], []
            for _ in range(iters):
                started = time.perf_counter()
                losses.append(step(s))
                torch.cuda.synchronize()
                times.append(time.perf_counter() - started)
            median = sorted(times)[len(times) // 2]
            finite = all(math.isfinite(float(v)) for v in losses)
            ok &= finite
            lines.append(
                f"{name:<8} batch {batch:>3} (x2 views): {median * 1e3:7.1f} ms/step, {2 * batch / median:7.0f} images/s, "
                f"peak {torch.cuda.max_memory_allocated() / 2**30:5.1f} GiB" + ("" if finite else ", NON-FINITE LOSS")
            )
            del s
            torch.cuda.empty_cache()
    return ok, lines


def check_eval_msmt17() -> tuple[bool, list[str]]:
    import numpy as np
    import torch

    from bau.metrics import evaluate_distances, evaluate_rank
    from bau.metrics.distance import squared_euclidean_chunks
    from bau.metrics.rank import CHUNK_ELEMENTS

    data = _benchmarks_module("eval_speed").generate("msmt17")
    labels = data["q_pids"], data["g_pids"], data["q_cams"], data["g_cams"]
    qf, gf = torch.from_numpy(data["qf"]), torch.from_numpy(data["gf"])
    started = time.perf_counter()
    cpu = evaluate_rank(qf, gf, *labels)
    cpu_seconds = time.perf_counter() - started
    qf_gpu, gf_gpu = qf.cuda(), gf.cuda()
    evaluate_rank(qf_gpu[:256], gf_gpu, labels[0][:256], labels[1], labels[2][:256], labels[3])  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    started = time.perf_counter()
    gpu = evaluate_rank(qf_gpu, gf_gpu, *labels)
    torch.cuda.synchronize()
    gpu_seconds = time.perf_counter() - started
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30
    # The same (GPU) distances ranked on CPU: the ranking code must agree exactly.
    chunk = max(1, CHUNK_ELEMENTS // gf.shape[0])
    same = evaluate_distances((c.cpu() for c in squared_euclidean_chunks(qf_gpu, gf_gpu, chunk)), *labels)
    exact = abs(gpu["mAP"] - same["mAP"]) <= 1e-9 and abs(gpu["mINP"] - same["mINP"]) <= 1e-9
    exact &= bool(np.allclose(gpu["cmc"], same["cmc"], rtol=0, atol=1e-12))
    close = abs(gpu["mAP"] - cpu["mAP"]) <= 1e-4 and float(np.abs(gpu["cmc"] - cpu["cmc"]).max()) <= 1e-3
    return exact and close, [
        f"{len(qf)} x {len(gf)}, {qf.shape[1]}-d: GPU {gpu_seconds:.2f} s (peak {peak:.2f} GiB above the features), CPU {cpu_seconds:.2f} s",
        f"GPU: mAP {100 * gpu['mAP']:.4f}%, rank-1 {100 * gpu['cmc'][0]:.4f}%, mINP {100 * gpu['mINP']:.4f}%",
        f"CPU: mAP {100 * cpu['mAP']:.4f}%, rank-1 {100 * cpu['cmc'][0]:.4f}%, mINP {100 * cpu['mINP']:.4f}%",
        f"GPU distances ranked on CPU: mAP difference {abs(gpu['mAP'] - same['mAP']):.2g} (must be <= 1e-9)",
        f"GPU vs CPU features: mAP difference {abs(gpu['mAP'] - cpu['mAP']):.2g} (GEMM rounding; must be <= 1e-4)",
    ]


def check_train_synthetic(work: Path, iters: int) -> tuple[bool, list[str]]:
    data, run = work / "data", work / "run"
    bau = [sys.executable, "-m", "bau"]
    if not (data / "bau_synthetic.json").is_file():
        subprocess.run(
            [*bau, "synth", "--out", str(data), "--scale", "tiny", "--seed", "1"], check=True, capture_output=True
        )
    overrides = [
        f"data.root={data}",
        f"data.splits_dir={work / 'splits'}",
        f"data.workers={min(8, os.cpu_count() or 1)}",
        "model.arch=resnet50",
        "model.pretrained=none",
        "model.height=256",
        "model.width=128",
        "train.batch_size=64",
        "train.amp=fp16",
        "train.device=cuda",
        "train.gpus=1",
        "train.epochs=2",
        f"train.iters={iters // 2}",
        "train.warmup_epochs=0",
        "train.milestones=[10]",
        "train.eval_epochs=[]",
        "train.log_every=50",
    ]
    command = [*bau, "train", "--out", str(run), *(x for o in overrides for x in ("--set", o))]
    proc = subprocess.run(command, check=False, capture_output=True, text=True, timeout=420)
    if proc.returncode:
        return False, ["bau train failed:", *proc.stderr.strip().splitlines()[-10:]]
    records = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines() if line.strip()]
    losses = [float(r["loss"]) if r["loss"] is not None else math.nan for r in records]
    ok, message = loss_falls(losses)
    return ok, [f"{len(losses)} iterations, batch 64, ResNet-50 256x128 from scratch, fp16", message]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("GPU check: no CUDA device here (torch.cuda.is_available() is False); nothing to check.")
        return 0
    device = f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    print(f"GPU check on {device}", flush=True)
    checks: dict[str, Callable[[], tuple[bool, list[str]]]] = {
        "cuda-tests": check_cuda_tests,
        "train-step": lambda: check_train_step(args.batches),
        "eval-msmt17": check_eval_msmt17,
    }
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = args.work or Path(tmp)
        checks["train-synthetic"] = lambda: check_train_synthetic(work, args.iters)
        results = [run_check(name, check) for name, check in checks.items() if name not in args.skip]
    print(format_report(results, device))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
