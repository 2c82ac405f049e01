"""Seconds per BAU training iteration: both views forward (bn_views), all losses, backward, Adam step, memory update.

Default: ResNet-50 at 256x128, batch 16 (4 identities x 4 instances), fp32, CPU, 2 torch threads,
median of 5 iterations after 1 warm-up, random weights and images (speed does not depend on them).

    python benchmarks/train_step_speed.py [--arch resnet50] [--threads 2] [--iters 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from bau.config import validate_run
from bau.models import create_model, param_groups
from bau.models.views import forward_views
from bau.training.memory import MemoryBank
from bau.training.objective import compute_losses, total_loss, view_outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--ids", type=int, default=4, help="identities per batch")
    parser.add_argument("--instances", type=int, default=4, help="images per identity")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--bn-views", default="separate", choices=["separate", "joint"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = create_model(args.arch, args.num_classes, pretrained="none", height=args.height, width=args.width).to(device).train()
    optimizer = torch.optim.Adam(param_groups(model, 3.5e-4, 5e-4))
    prototypes = F.normalize(torch.randn(args.num_classes, model.feat_dim), dim=1)
    memory = MemoryBank(prototypes, torch.arange(args.num_classes) % args.domains).to(device)

    method = validate_run({})["method"]  # BAU with the reference's hyper-parameters
    b = args.ids * args.instances
    y = torch.repeat_interleave(torch.randperm(args.num_classes)[: args.ids], args.instances).to(device)
    d = memory.labels[y]
    x_w = torch.randn(b, 3, args.height, args.width, device=device)
    x_s = torch.randn(b, 3, args.height, args.width, device=device)

    def step() -> float:
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        out = view_outputs(*forward_views(model, x_w, x_s, args.bn_views))
        loss = total_loss(compute_losses(out, y, d, memory, method), method["lam"])
        loss.backward()
        optimizer.step()
        memory.update(out.f_w.detach(), y)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - started

    for _ in range(args.warmup):
        step()
    times = [step() for _ in range(args.iters)]
    print(
        f"{args.arch} {args.height}x{args.width}, batch {b} ({args.ids} ids x {args.instances}), two views "
        f"(bn_views {args.bn_views}), fp32, {device}, {args.threads} threads"
    )
    print(f"iterations: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"median seconds per iteration: {statistics.median(times):.2f}")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
