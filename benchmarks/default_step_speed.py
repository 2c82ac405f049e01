"""CPU-seconds per training iteration of the default configuration, before and after the CPU
step options, side by side in one run; then the official step against ours at the paper's size.

An iteration is what ``bau train`` does per step: ``loader.next()`` (decode, both views'
augmentations, collate) and :meth:`bau.training.trainer.Trainer.train_step` (forward of both
views, losses, backward, Adam, memory update). Two trainers are built from the same resolved
run config (``config/config.yaml``, ``--resolve``, on the ``bau synth`` data of ``--data``):

* ``before``: the old path: fp32 (``train.amp: off``) in NCHW, Adam's per-parameter loop (torch's
  CPU default), every image decoded at every draw, each view through torchvision's v2
  transform classes (:func:`bau.pipeline.transforms.torchvision_pipeline`, resizing per view),
  glibc malloc's default thresholds;
* ``after``: ``train.amp: bf16`` (bf16 autocast where the CPU has AMX; fp32 otherwise, as
  the trainer decides), channels_last, fused Adam, decoded-image cache (decoded and resized
  once), the views written out (:class:`bau.pipeline.transforms.TrainView`, the same tensors
  bit for bit), freed memory kept for reuse (:func:`bau.devices.keep_freed_memory`).

Each variant lives in its own process (the malloc setting is per process) and their
iterations alternate in lockstep (a busy machine slows both alike). The time is the process's
CPU time (``time.process_time``, all threads), with the wall time and the load average beside it.
The cache is filled before timing (steady state); its one-time fill is reported apart, with
what it adds per iteration over the default run's ``epochs x iters``. A breakdown by phase
(decode, augmentation + collate, forward, losses, backward, optimizer, memory update) mirrors
``Trainer.train_step`` with a timer between the phases; its sum is close to, not the same as,
the timed ``train_step``. The one-time costs of a run (memory initialisation, one evaluation)
are timed once per variant.

The last part times the official step against ours (``train_step_speed.py``: ResNet-50,
256x128, batch 16, two views) on the same threads, ours in fp32 and under the ``after``
precision with fused Adam (``--no-official`` skips it).

    bau synth --out /tmp/stepdata --scale tiny
    python benchmarks/default_step_speed.py --data /tmp/stepdata [--arch resnet18_tiny] [--iters 20]
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import torch

import bau.pipeline.loaders as loaders
from bau.config import load_workflow_config, resolve_run
from bau.devices import cpu_native_bf16, keep_freed_memory
from bau.models import param_groups
from bau.models.views import forward_views
from bau.pipeline.loaders import build_train_loader
from bau.pipeline.transforms import TrainView, torchvision_pipeline
from bau.training import trainer as trainer_module
from bau.training.objective import compute_losses, total_loss, view_outputs
from bau.training.optim import build_optimizer
from bau.training.trainer import Trainer, precision_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_step_speed as tss  # noqa: E402

PHASES = ("decode", "augment+collate", "forward", "losses", "backward", "optimizer", "memory")


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


class ComposedView:
    """A view through torchvision's transform classes, in the interface of ``TrainView``."""

    def __init__(self, view: TrainView) -> None:
        self.pipeline = torchvision_pipeline(view)

    def resize(self, img: object) -> object:
        return img  # every view resizes on its own

    def __call__(self, img: object, resized: object = None) -> torch.Tensor:
        return self.pipeline(img)


class Variant:
    """A trainer set up for timing (no run folder writes): ``before`` or ``after``."""

    def __init__(self, name: str, cfg: dict, folder: Path, threads: int) -> None:
        torch.set_num_threads(threads)
        self.name = name
        after = name == "after"
        if not after:  # the trainer's CPU setup would change this process's malloc
            trainer_module.keep_freed_memory = lambda: False
        cfg = copy.deepcopy(cfg)
        cfg["train"]["amp"] = "bf16" if after else "off"
        cfg["train"]["device"] = "cpu"
        t = Trainer(cfg, folder / name)
        t.setup_device()
        if not after:
            t.memory_format = torch.preserve_format  # NCHW
        t.setup_data()
        if not after:
            t.loader = build_train_loader(t.train_set, t.cfg, t.cfg["seed"], cache_bytes=0)
            dataset = t.loader.loader.dataset
            dataset.weak, dataset.strong = (
                None if view is None else ComposedView(view) for view in (dataset.weak, dataset.strong)
            )
        t.setup_model()
        if not after:
            t.optimizer = build_optimizer(torch.nn.ModuleList([t.model, t.id_loss]), t.cfg["train"], fused=False)
        started = time.process_time()
        t.init_memory()
        self.memory_init_s = time.process_time() - started
        t.net = t.model
        t.loader.set_epoch(0)
        t.loader.new_epoch()
        t.net.train()
        self.trainer = t
        self.dataset = t.loader.loader.dataset
        self.precision = precision_name(t.amp_dtype)
        self.iteration = 0

    def info(self) -> dict:
        return {
            "precision": self.precision,
            "memory format": "channels_last" if self.trainer.memory_format == torch.channels_last else "NCHW",
            "fused": bool(self.trainer.optimizer.defaults.get("fused")),
            "cache": self.dataset.cache is not None,
            "malloc": getattr(self.trainer, "kept_freed_memory", False),
            "images": len(self.dataset),
        }

    def fill_cache(self) -> float:
        """CPU-seconds to decode every training image once into the cache (0 without one)."""
        cache = self.dataset.cache
        if cache is None:
            return 0.0
        started = time.process_time()
        for path in self.dataset.paths:
            cache.get(path)
        return time.process_time() - started

    def iterate(self) -> tuple[float, float]:
        """One ``bau train`` iteration: (CPU-seconds, wall seconds)."""
        self.iteration += 1
        cpu, wall = time.process_time(), time.perf_counter()
        self.trainer.train_step(self.trainer.loader.next(), 1, self.iteration)
        return time.process_time() - cpu, time.perf_counter() - wall

    def phases(self) -> dict[str, float]:
        """CPU-seconds of one iteration per phase (the phases of ``Trainer.train_step``)."""
        t, times = self.trainer, defaultdict(float)
        clock = time.process_time

        def timed(fn: Callable, key: str) -> Callable:
            def wrapper(*args):
                started = clock()
                try:
                    return fn(*args)
                finally:
                    times[key] += clock() - started

            return wrapper

        real_read = loaders.read_rgb
        loaders.read_rgb = timed(real_read, "decode")  # TwoViewDataset.load reads through it
        started = clock()
        try:
            batch = t.loader.next()
        finally:
            loaders.read_rgb = real_read
        times["augment+collate"] = clock() - started - times["decode"]
        x_w, x_s, y, d = batch
        mark = clock()

        def lap(key: str) -> None:
            nonlocal mark
            now = clock()
            times[key] += now - mark
            mark = now

        x_w = x_w.to(t.device, memory_format=t.memory_format)
        x_s = x_s.to(t.device, memory_format=t.memory_format)
        t.optimizer.zero_grad(set_to_none=True)
        with t.autocast():
            views = forward_views(t.net, x_w, x_s, t.cfg["train"]["bn_views"])
            lap("forward")
            out = view_outputs(*views, strong_id=t.cfg["method"]["strong_id_loss"])
            terms = compute_losses(out, y, d, t.memory, t.cfg["method"], t.id_loss, t.model.classifier.weight)
            loss = total_loss(terms, t.cfg["method"]["lam"])
        t.check_finite(terms, loss, 1, 0)
        lap("losses")
        t.scaler.scale(loss).backward()
        lap("backward")
        t.scaler.step(t.optimizer)
        t.scaler.update()
        lap("optimizer")
        if t.memory is not None:
            t.memory.update(out.f_w.detach(), y)
        lap("memory")
        return times

    def one_time(self) -> tuple[float, float]:
        """CPU-seconds of the memory initialisation and of one evaluation of the targets."""
        started = time.process_time()
        self.trainer.net.eval()
        self.trainer.evaluate_targets(1)
        self.trainer.net.train()
        return self.memory_init_s, time.process_time() - started


def serve(conn: Connection, name: str, cfg: dict, folder: str, threads: int) -> None:
    """A variant's process: answers the parent's commands (method name, arguments) in turn."""
    variant = Variant(name, cfg, Path(folder), threads)
    conn.send("ready")
    while True:
        command, args = conn.recv()
        if command == "quit":
            return
        conn.send(getattr(variant, command)(*args))


class Remote:
    """The parent's handle on a variant's process."""

    def __init__(self, name: str, cfg: dict, folder: Path, threads: int) -> None:
        self.name = name
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, name, cfg, str(folder), threads), daemon=True)
        self.process.start()
        if self.conn.recv() != "ready":
            raise RuntimeError(f"variant {name} did not start")

    def __getattr__(self, command: str) -> Callable:
        def call(*args):
            self.conn.send((command, args))
            return self.conn.recv()

        return call

    def close(self) -> None:
        self.conn.send(("quit", ()))
        self.process.join()


def resolved_config(args: argparse.Namespace, folder: Path) -> dict:
    workflow = load_workflow_config(args.config)
    workflow["data"]["root"] = args.data
    workflow.setdefault("run", {}).setdefault("model", {})["arch"] = args.arch
    cfg = resolve_run(workflow, *args.resolve.split("/"))
    cfg["data"]["splits_dir"] = str(folder / "splits")
    return cfg


def official_comparison(args: argparse.Namespace, precision: str) -> None:
    """The official step against ours at the paper's size (``train_step_speed.py``)."""
    kept = keep_freed_memory()  # for all three steps alike
    print(
        f"\n== official step vs ours: {args.official_arch} 256x128, batch 16, two views, {args.threads} thread(s), "
        f"malloc keeps freed memory: {'yes' if kept else 'no'}"
    )
    s = tss.build(args.official_arch, 16, 4, 256, 128)
    fused = torch.optim.Adam(param_groups(s.model, 3.5e-4, 5e-4), fused=True)
    loop = s.optimizer
    cl = torch.channels_last

    def ours_after(s: tss.Setup) -> object:
        s.optimizer, s.amp = fused, (torch.bfloat16 if precision == "bf16" else None)
        if s.amp is not None:
            s.model.to(memory_format=cl)
            s.x_w, s.x_s = s.x_w.contiguous(memory_format=cl), s.x_s.contiguous(memory_format=cl)
        try:
            return tss.bau_step(s)
        finally:
            s.optimizer, s.amp = loop, None
            s.model.to(memory_format=torch.contiguous_format)
            s.x_w, s.x_s = s.x_w.contiguous(), s.x_s.contiguous()

    steps = {
        "official (fp32)": tss.official_step,
        "ours (fp32)": tss.bau_step,
        f"ours ({precision}, fused Adam)": ours_after,
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for rep in range(1 + args.official_iters):  # the first round warms up
        for name, step in steps.items():
            started = time.process_time()
            step(s)
            if rep:
                times[name].append(time.process_time() - started)
    base = statistics.median(times["official (fp32)"])
    for name, values in times.items():
        median = statistics.median(values)
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:<28} {shown} CPU-s; median {median:.2f} CPU-s/iter = {median / base:.2f} x official")
    print(f"load average: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--resolve", default="protocol2/cuhk03/bau/1", help="PROTOCOL/RUN/METHOD[/SEED]")
    parser.add_argument("--data", default="/tmp/stepdata", help="a `bau synth --scale tiny` folder")
    parser.add_argument("--arch", default="resnet18_tiny")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--phase-iters", type=int, default=10, help="iterations of the per-phase breakdown")
    parser.add_argument("--official-arch", default="resnet50")
    parser.add_argument("--official-iters", type=int, default=3)
    parser.add_argument("--no-official", action="store_true")
    args = parser.parse_args()
    if not Path(args.data).is_dir():
        parser.error(f"--data {args.data} does not exist; make it with `bau synth --out {args.data} --scale tiny`")

    torch.set_num_threads(args.threads)
    print(f"load average (1, 5, 15 min): {load()}; torch {torch.__version__}, {args.threads} thread(s)")
    print(f"native bf16: {cpu_native_bf16() or 'none'}; CPU capability {torch.backends.cpu.get_cpu_capability()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = resolved_config(args, folder)
        variants = [Remote(name, cfg, folder, args.threads) for name in ("before", "after")]
        infos = {v.name: v.info() for v in variants}
        tr = cfg["train"]
        run_iters = tr["epochs"] * tr["iters"]
        print(
            f"{args.resolve} ({cfg['model']['arch']}, {cfg['model']['height']}x{cfg['model']['width']}, batch "
            f"{tr['batch_size']} = {tr['batch_size'] // tr['num_instances']} ids x {tr['num_instances']}, "
            f"{infos['before']['images']} training images, {run_iters} iterations per run)"
        )
        for name, info in infos.items():
            print(
                f"  {name}: precision {info['precision']}, {info['memory format']}, Adam fused={info['fused']}, decoded-image cache "
                f"{'on' if info['cache'] else 'off'}, malloc keeps freed memory {'yes' if info['malloc'] else 'no'}"
            )
        fills = {v.name: v.fill_cache() for v in variants}
        for _ in range(args.warmup):
            for v in variants:
                v.iterate()
        cpu: dict[str, list[float]] = {v.name: [] for v in variants}
        wall: dict[str, list[float]] = {v.name: [] for v in variants}
        print(f"load average before timing: {load()}")
        for _ in range(args.iters):
            for v in variants:
                c, w = v.iterate()
                cpu[v.name].append(c)
                wall[v.name].append(w)
        print(f"load average after timing: {load()}")
        med = {name: statistics.median(values) for name, values in cpu.items()}
        print(f"\n== full iteration (loader.next + Trainer.train_step), median of {args.iters}, alternating")
        for v in variants:
            values = cpu[v.name]
            print(
                f"{v.name:<7} {1000 * med[v.name]:7.1f} ms CPU/iter (min {1000 * min(values):.1f}, max "
                f"{1000 * max(values):.1f}; wall median {1000 * statistics.median(wall[v.name]):.1f} ms)"
            )
        fill_per_iter = fills["after"] / run_iters
        print(f"after / before = {med['after'] / med['before']:.3f} (steady state: every image in the cache)")
        print(
            f"cache fill: {fills['after']:.2f} CPU-s once per process = {1000 * fill_per_iter:.1f} ms/iter over a "
            f"default run's {run_iters} iterations -> {(med['after'] + fill_per_iter) / med['before']:.3f} of before"
        )

        print(f"\n== per phase, ms CPU per iteration, mean of {args.phase_iters}")
        phases = {v.name: defaultdict(float) for v in variants}
        for _ in range(args.phase_iters):
            for v in variants:
                for key, value in v.phases().items():
                    phases[v.name][key] += value / args.phase_iters
        print(f"{'phase':<16}" + "".join(f"{v.name:>10}" for v in variants))
        for key in PHASES:
            print(f"{key:<16}" + "".join(f"{1000 * phases[v.name][key]:10.1f}" for v in variants))
        print(f"{'sum':<16}" + "".join(f"{1000 * sum(phases[v.name].values()):10.1f}" for v in variants))
        print(f"load average: {load()}")

        print("\n== one-time costs per run, CPU-s")
        for v in variants:
            memory_s, eval_s = v.one_time()
            print(f"{v.name:<7} memory init {memory_s:.2f} s, one evaluation {eval_s:.2f} s")
        for v in variants:
            v.close()
        precision = infos["after"]["precision"]

    if not args.no_official:
        official_comparison(args, precision)


if __name__ == "__main__":
    main()
