"""Seconds per BAU training iteration, its FLOP count, and the machine's GEMM peak, in one run.

Two steps are timed side by side (interleaved) on the same model, batch and optimizer:

* ``bau``: this package's step: both views (``bau.models.views.forward_views``, BatchNorm
  statistics per view, ``--bn-views``), all losses (``bau.training.objective``), backward,
  Adam, memory update;
* ``official``: a plain re-implementation of the official step (``bau/trainers.py``,
  ``BAUTrainer.train``; docs/reference.md §4.3) without DataParallel: one forward of
  ``cat([x_w, x_s])`` (so BatchNorm mixes the views), the losses written out in plain torch,
  GradScaler, Adam, the per-sample memory update loop.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add = 2
FLOPs; convolutions, matrix products and their backward passes; element-wise ops such as
BatchNorm, ReLU, InstanceNorm and the optimizer are not counted). The fp32 GEMM peak is the
best of a few ``torch.mm`` of 4096 x 4096 matrices with the same threads. The ratio of the
step's FLOPs to its time, against that peak, says how close to the hardware a step runs.

Default: ResNet-50 at 256x128, batch 16 (4 identities x 4 instances), two views, fp32, CPU,
2 torch threads, median of 5 iterations after 1 warm-up, random weights and images (speed does
not depend on them). ``--device cuda --amp fp16`` times a GPU step (``benchmarks/gpu_check.py``
uses :func:`build` and the two step functions); ``--amp bf16`` on a CPU with AMX times both steps
under bf16 autocast. ``benchmarks/default_step_speed.py`` times the default configuration's
whole iteration before and after the CPU step options.

    python benchmarks/train_step_speed.py [--arch resnet50] [--threads 2] [--iters 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bau.config import validate_run
from bau.models import create_model, param_groups
from bau.models.views import forward_views
from bau.training.memory import MemoryBank
from bau.training.objective import compute_losses, total_loss, view_outputs


@dataclass
class Setup:
    """A model, its optimizer and memory, and one random batch, on one device."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    memory: MemoryBank
    method: dict
    x_w: torch.Tensor
    x_s: torch.Tensor
    y: torch.Tensor
    d: torch.Tensor
    amp: torch.dtype | None

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.x_w.device.type, dtype=self.amp)

    def sync(self) -> None:
        if self.x_w.device.type == "cuda":
            torch.cuda.synchronize(self.x_w.device)


def build(
    arch: str = "resnet50",
    batch: int = 16,
    instances: int = 4,
    height: int = 256,
    width: int = 128,
    num_classes: int = 1000,
    domains: int = 3,
    device: str = "cpu",
    amp: str = "off",
) -> Setup:
    """A fresh model (random weights) and batch for timing steps; ``amp``: off, fp16 (CUDA) or
    bf16 (CUDA, or a CPU with AMX: then channels_last; the trainer takes channels_last on
    every CPU, this fp32 variant keeps the official NCHW)."""
    torch.manual_seed(0)
    dev = torch.device(device)
    model = create_model(arch, num_classes, pretrained="none", height=height, width=width).to(dev).train()
    optimizer = torch.optim.Adam(param_groups(model, 3.5e-4, 5e-4))
    prototypes = F.normalize(torch.randn(num_classes, model.feat_dim), dim=1)
    memory = MemoryBank(prototypes, torch.arange(num_classes) % domains).to(dev)
    ids = batch // instances
    y = torch.repeat_interleave(torch.randperm(num_classes)[:ids], instances).to(dev)
    dtype = {"off": None, "fp16": torch.float16, "bf16": torch.bfloat16}[amp]
    x_w = torch.randn(batch, 3, height, width, device=dev)
    x_s = torch.randn(batch, 3, height, width, device=dev)
    if dtype is not None and dev.type == "cpu":
        model.to(memory_format=torch.channels_last)
        x_w, x_s = x_w.contiguous(memory_format=torch.channels_last), x_s.contiguous(memory_format=torch.channels_last)
    return Setup(
        model=model,
        optimizer=optimizer,
        scaler=torch.amp.GradScaler(dev.type, enabled=dtype == torch.float16),
        memory=memory,
        method=validate_run({})["method"],  # BAU with the official hyper-parameters
        x_w=x_w,
        x_s=x_s,
        y=y,
        d=memory.labels[y],
        amp=dtype,
    )


def bau_step(s: Setup, bn_views: str = "separate") -> torch.Tensor:
    """This package's training step; returns the loss."""
    s.optimizer.zero_grad(set_to_none=True)
    with s.autocast():
        out = view_outputs(*forward_views(s.model, s.x_w, s.x_s, bn_views))
        loss = total_loss(compute_losses(out, s.y, s.d, s.memory, s.method), s.method["lam"])
    s.scaler.scale(loss).backward()
    s.scaler.step(s.optimizer)
    s.scaler.update()
    s.memory.update(out.f_w.detach(), s.y)
    return loss.detach()


def official_step(s: Setup) -> torch.Tensor:
    """The official step (``BAUTrainer.train``) in plain torch, on one device; returns the loss."""
    b, y, d = s.x_w.shape[0], s.y, s.d
    s.optimizer.zero_grad(set_to_none=True)
    with s.autocast():
        emb, f, logits = s.model(torch.cat([s.x_w, s.x_s]))
        f = F.normalize(f)
        emb_w, f_w, f_s, logits_w = emb[:b], f[:b], f[b:], logits[:b]
        with torch.no_grad():  # k-reciprocal reliability weights over all 2B features
            top = torch.topk(f @ f.t(), min(10, 2 * b), dim=1).indices
            a = torch.zeros(2 * b, 2 * b, device=f.device).scatter_(1, top, 1.0)
            r = a * a.t()
            inter = r[b:] @ r[:b].t()
            union = r[b:].sum(1, keepdim=True) + r[:b].sum(1)[None, :] - inter
            w = inter / (union + 1e-6)
        logits_w = logits_w.float()
        smooth = torch.full_like(logits_w, 0.1 / logits_w.shape[1]).scatter_(
            1, y[:, None], 0.9 + 0.1 / logits_w.shape[1]
        )
        ce = (-smooth * F.log_softmax(logits_w, 1)).sum(1).mean()
        emb_w = emb_w.float()
        sq = emb_w.pow(2).sum(1)
        dist = (sq[:, None] + sq[None, :] - 2 * emb_w @ emb_w.t()).clamp(min=1e-12).sqrt()
        same = y[:, None] == y[None, :]
        tri = F.relu(dist.where(same, -1e9).amax(1) - dist.where(~same, 1e9).amin(1) + 0.3).mean()
        f_w, f_s = f_w.float(), f_s.float()
        align = (w * squared(f_s, f_w))[same].sum() / w[same].sum()

        def uniform(x: torch.Tensor) -> torch.Tensor:
            return torch.pdist(x).pow(2).mul(-2).exp().mean().log()

        def domain(x: torch.Tensor) -> torch.Tensor:
            delta = squared(x, s.memory.features) + 9999999 * (s.memory.labels[None] != d[:, None])
            kept = delta.sort(1).values[:, 1 : b + 1]
            return kept.mul(-2).exp().mean().log()

        loss = ce + tri + 1.5 * align + 0.5 * (uniform(f_w) + uniform(f_s)) + 0.5 * (domain(f_w) + domain(f_s))
    s.scaler.scale(loss).backward()
    s.scaler.step(s.optimizer)
    s.scaler.update()
    with torch.no_grad():  # per sample, in batch order, weak views only
        for feature, label in zip(f_w.detach(), y.tolist()):
            proto = 0.1 * s.memory.features[label] + 0.9 * feature
            s.memory.features[label] = proto / proto.norm()
    return loss.detach()


def squared(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances of the rows of ``a`` and ``b``, as the official losses compute them."""
    return a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1)[None, :] - 2 * a @ b.t()


def timed(s: Setup, step: Callable[[Setup], object]) -> float:
    s.sync()
    started = time.perf_counter()
    step(s)
    s.sync()
    return time.perf_counter() - started


def count_flops(s: Setup, step: Callable[[Setup], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        step(s)
    return counter.get_total_flops()


def forward_flops_per_image(s: Setup) -> float:
    """FLOPs of one image through the model (train mode, no gradient)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        s.model(s.x_w)
    return counter.get_total_flops() / s.x_w.shape[0]


def gemm_peak(size: int = 4096, repeats: int = 3, device: str = "cpu") -> float:
    """Best fp32 GFLOP/s of ``size x size`` matrix products with the current threads."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    out = torch.empty(size, size, device=device)
    torch.mm(a, b, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        started = time.perf_counter()
        torch.mm(a, b, out=out)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--ids", type=int, default=4, help="identities per batch")
    parser.add_argument("--instances", type=int, default=4, help="images per identity")
    parser.add_argument("--bn-views", default="separate", choices=["separate", "joint"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=["off", "fp16", "bf16"])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    peak = gemm_peak(device=args.device)
    print(f"fp32 GEMM peak (4096^3 torch.mm, {args.threads} threads): {peak:.1f} GFLOP/s", flush=True)
    b = args.ids * args.instances
    s = build(args.arch, b, args.instances, args.height, args.width, device=args.device, amp=args.amp)
    steps = {"bau": lambda s: bau_step(s, args.bn_views), "official": official_step}
    per_image = forward_flops_per_image(s)
    flops = {name: count_flops(s, step) for name, step in steps.items()}
    for _ in range(args.warmup):
        for step in steps.values():
            timed(s, step)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.iters):  # interleaved: a busy machine slows both alike
        for name, step in steps.items():
            times[name].append(timed(s, step))
    print(
        f"{args.arch} {args.height}x{args.width}, batch {b} ({args.ids} ids x {args.instances}), two views, "
        f"{args.amp if args.amp != 'off' else 'fp32'}, {args.device}, {args.threads} threads"
    )
    print(
        f"forward: {per_image / 1e9:.2f} GFLOP per image (x {2 * b} images = {2 * b * per_image / 1e9:.1f} GFLOP; "
        f"x 3 with backward = {6 * b * per_image / 1e9:.1f} GFLOP)"
    )
    for name in steps:
        median = statistics.median(times[name])
        print(
            f"{name:<8} step: {', '.join(f'{t:.2f}' for t in times[name])} s; median {median:.2f} s, "
            f"min {min(times[name]):.2f} s; counted {flops[name] / 1e9:.1f} GFLOP = {flops[name] / median / 1e9:.1f} "
            f"GFLOP/s at the median, {flops[name] / min(times[name]) / 1e9:.1f} at the min "
            f"({100 * flops[name] / min(times[name]) / 1e9 / peak:.0f}% of the GEMM peak); {2 * b / median:.1f} images/s"
        )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
