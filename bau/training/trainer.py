"""The resumable BAU trainer (docs/reference.md §4.1-4.5 with the choices of section 8).

One run = one folder (:class:`~bau.layout.RunDir`). Every epoch ends with the
loss log and ``checkpoints/last.pth`` written atomically; a rerun with the same folder and
the same resolved configuration resumes from that checkpoint. Every random generator (and
the identity sampler) is reseeded from ``(seed, epoch)`` at the start of each epoch, so a
resumed epoch replays exactly what an uninterrupted run would have done.

Under torchrun (one process per GPU, :mod:`bau.distributed.ddp`) every rank loads its whole
identities of each global batch, the outputs of all ranks are gathered (with gradients)
before the batch-level losses and the memory update, and BatchNorm statistics are reduced
over the ranks per view: each step is the single-process step of the global batch. Rank 0
alone writes the run folder and evaluates; the other ranks wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bau import __version__
from bau.checkpoint import load_checkpoint, save_checkpoint
from bau.config import config_hash
from bau.datasets import create_dataset
from bau.datasets.multisource import merge_sources
from bau.devices import cpu_native_bf16, keep_freed_memory, resolve_device
from bau.distributed import ddp
from bau.errors import BauError, TrainingError
from bau.evaluation import SUMMARY_METRICS, EvalOptions, evaluate_model, extract_features
from bau.evaluation.options import evaluation_key
from bau.io import read_json, read_yaml, write_json, write_yaml
from bau.layout import RunDir
from bau.losses import create_id_loss
from bau.models import create_model
from bau.models.views import forward_views
from bau.pipeline.loaders import build_train_loader
from bau.training.memory import MemoryBank
from bau.training.objective import ViewOutputs, compute_losses, total_loss, view_outputs
from bau.training.optim import build_optimizer, build_scheduler
from bau.training.runlog import JsonlLog, file_logging, loss_record, quiet_logging
from bau.training.seeding import epoch_seed, get_rng_state, seed_everything, set_rng_state
from bau.training.terms import LOSS_TERMS, enabled_terms, ignored_switches

log = logging.getLogger(__name__)


def amp_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """The autocast dtype of ``train.amp`` on ``device``, None = fp32.

    CUDA: fp16 or bf16 as asked. CPU: bf16 only, and only on a CPU with AMX
    (:func:`bau.devices.cpu_native_bf16`), where it cuts a step's cost; elsewhere CPU bf16 and
    fp16 autocast are slower than fp32, so ``fp16`` (the schema's default, for CUDA) runs in fp32.
    """
    if device.type == "cuda":
        return {"fp16": torch.float16, "bf16": torch.bfloat16, "off": None}[amp]
    if device.type == "cpu" and amp == "bf16" and cpu_native_bf16() == "AMX":
        return torch.bfloat16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    """``fp16``, ``bf16`` or ``fp32``: the effective training precision, as logged and in final.json."""
    return {torch.float16: "fp16", torch.bfloat16: "bf16", None: "fp32"}[dtype]


class Trainer:
    """Train one BAU model as ``config`` (a resolved run config) says, into ``run_dir``."""

    def __init__(self, config: Mapping[str, Any], run_dir: str | Path) -> None:
        self.cfg = dict(config)
        self.hash = config_hash(self.cfg)
        self.dirs = RunDir(Path(run_dir))
        self.epochs = self.cfg["train"]["epochs"]
        self.iters = self.cfg["train"]["iters"]
        self.eval_epochs = sorted({e for e in self.cfg["train"]["eval_epochs"] if e <= self.epochs} | {self.epochs})
        self.losses_log = JsonlLog(self.dirs.losses)
        self.evals_log = JsonlLog(self.dirs.evals)

    # ------------------------------------------------------------------ run

    def run(self) -> dict[str, Any]:
        """Train (or resume) to the last epoch; returns the content of final.json."""
        self.check_run_dir()
        self.setup_device()
        try:
            with file_logging(self.dirs.log) if self.is_main else quiet_logging():
                if self.dirs.final.is_file():
                    log.info("%s is complete (final.json exists); nothing to do", self.dirs.root)
                    return read_json(self.dirs.final)
                log.info("bau %s: training into %s (config hash %s)", __version__, self.dirs.root, self.hash)
                try:
                    return self.train()
                except BauError as err:
                    log.error("%s", err)
                    raise
                except Exception:
                    log.exception("training failed")
                    raise
        finally:
            if self.owns_process_group:
                ddp.cleanup()

    def train(self) -> dict[str, Any]:
        self.log_device()
        self.setup_data()
        self.setup_model()
        # Only now: a run that cannot start (data, model) leaves no config.yaml that would refuse
        # the corrected rerun into this folder.
        if self.is_main:
            write_yaml(self.dirs.config, self.cfg)
        start = self.resume()
        if start == 0:
            self.init_memory()
        # After loading the checkpoint into the plain model: the checkpoints hold its state.
        self.net = ddp.wrap_model(self.model, self.device)
        for epoch in range(start, self.epochs):
            self.train_epoch(epoch)
            self.scheduler.step()
            if epoch + 1 in self.eval_epochs:
                self.evaluate(epoch + 1)
            self.save(epoch + 1)
        return self.finish()

    def check_run_dir(self) -> None:
        """Refuse to resume (or report) a folder that holds a run of another configuration."""
        found = {}
        if self.dirs.config.is_file():
            found[self.dirs.config] = config_hash(read_yaml(self.dirs.config))
        if self.dirs.final.is_file():
            found[self.dirs.final] = read_json(self.dirs.final).get("config_hash")
        for path, previous in found.items():
            if previous != self.hash:
                raise TrainingError(
                    f"{self.dirs.root} holds a run of another configuration ({path.name}: config hash "
                    f"{previous}, this one {self.hash}). Use a new --out folder, or delete that folder "
                    "to start over"
                )

    # ---------------------------------------------------------------- setup

    def setup_device(self) -> None:
        """This process's device; under torchrun also its place in the process group."""
        train = self.cfg["train"]
        self.device = resolve_device(train["device"])
        self.owns_process_group = ddp.init_process_group(self.device)
        self.rank, self.world = ddp.rank(), ddp.world_size()
        self.is_main = self.rank == 0
        if self.device.type == "cuda":
            # Faster convolutions; the reference enables it too (docs/reference.md §7 item 9).
            torch.backends.cudnn.benchmark = True
        else:
            self.kept_freed_memory = keep_freed_memory()
        self.amp_dtype = amp_dtype(self.device, train["amp"])
        # oneDNN's CPU convolutions run fastest on NHWC: in bf16 on AMX, and in fp32 on an
        # AVX2-only CPU (a quarter-width ResNet-18 at 64x32, forward + backward: 15 % less CPU time).
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.preserve_format
        # Loss scaling only for fp16 (bf16 has fp32's exponent range).
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def log_device(self) -> None:
        train = self.cfg["train"]
        if self.device.type != "cuda" and train["amp"] == "fp16":
            log.info("train.amp=fp16 is for CUDA; on %s training runs in fp32 (train.amp=bf16 for bf16)", self.device)
        elif self.device.type == "cpu" and train["amp"] == "bf16":
            native = cpu_native_bf16()
            if native == "AMX":
                log.info("train.amp=bf16: bf16 autocast on the CPU (AMX)")
            else:
                log.info(
                    "train.amp=bf16: this CPU has no AMX (native bf16: %s), where bf16 is slower than fp32; "
                    "training runs in fp32",
                    native or "none",
                )
        log.info("device %s, training precision %s", self.device, precision_name(self.amp_dtype))
        if self.device.type == "cpu":
            log.info("malloc keeps freed memory for reuse: %s", "yes" if self.kept_freed_memory else "no (not glibc)")
        if self.world > 1:
            per_rank = train["batch_size"] // self.world
            log.info("%d processes (DDP), %d images per process and batch", self.world, per_rank)

    def setup_data(self) -> None:
        data = self.cfg["data"]
        datasets = [
            create_dataset(name, data["root"], split_seed=data["split_seed"], splits_dir=data["splits_dir"])
            for name in data["sources"]
        ]
        self.train_set = merge_sources(datasets)
        self.loader = build_train_loader(
            self.train_set, self.cfg, self.cfg["seed"], num_replicas=self.world, rank=self.rank
        )
        names = ", ".join(data["sources"])
        log.info("sources %s: %d images, %d identities", names, len(self.train_set.items), self.train_set.num_classes)

    def setup_model(self) -> None:
        model_cfg = self.cfg["model"]
        seed_everything(self.cfg["seed"])  # deterministic initial weights
        self.model = create_model(
            model_cfg["arch"],
            self.train_set.num_classes,
            pretrained=model_cfg["pretrained"],
            height=model_cfg["height"],
            width=model_cfg["width"],
        ).to(self.device, memory_format=self.memory_format)
        self.net: torch.nn.Module = self.model  # what forwards the training batches (DDP when distributed)
        self.id_loss = create_id_loss(self.cfg["method"]["id_loss"], self.train_set.num_classes, self.model.feat_dim)
        self.id_loss.to(self.device)
        # The model's parameters, then the identity loss's own (none for ce and arcface).
        self.optimizer = build_optimizer(torch.nn.ModuleList([self.model, self.id_loss]), self.cfg["train"])
        self.scheduler = build_scheduler(self.optimizer, self.cfg["train"])
        self.terms = enabled_terms(self.cfg["method"])
        self.memory: MemoryBank | None = None
        ignored = ignored_switches(self.cfg["method"])
        if ignored:
            log.info("method.strong_view is false: %s need the strong view and are off", ", ".join(ignored))

    def init_memory(self) -> None:
        """Class prototypes from the initial model's eval-mode features (docs/reference.md §4.1 step 4)."""
        if "domain" not in self.terms:
            return  # only the domain loss reads the memory
        started = time.perf_counter()
        self.memory = initial_memory(self.model, self.train_set, self.cfg, self.device)
        # Every rank computed it; rank 0's copy makes them bit-identical whatever the GPU.
        ddp.broadcast_(self.memory.features)
        seconds = time.perf_counter() - started
        log.info("memory bank initialised (%d prototypes) in %.1f s", self.memory.features.shape[0], seconds)

    # ------------------------------------------------------------- training

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def forward(self, x_w: torch.Tensor, x_s: torch.Tensor | None) -> ViewOutputs:
        """This rank's outputs; ``x_s`` None = weak views only."""
        if x_s is None:
            return view_outputs(self.net(x_w), None)
        views = forward_views(self.net, x_w, x_s, self.cfg["train"]["bn_views"])
        return view_outputs(*views, strong_id=self.cfg["method"]["strong_id_loss"])

    @staticmethod
    def gather(out: ViewOutputs, y: torch.Tensor, d: torch.Tensor) -> tuple[ViewOutputs, torch.Tensor, torch.Tensor]:
        """The global batch's outputs and labels, in rank order (this rank's own when alone)."""
        emb_w, f_w, logits_w, f_s, emb_s, logits_s, y, d = ddp.gather_outputs(
            [out.emb_w, out.f_w, out.logits_w, out.f_s, out.emb_s, out.logits_s, y, d]
        )
        return ViewOutputs(emb_w, f_w, logits_w, f_s, emb_s, logits_s), y, d

    def train_step(self, batch: tuple, epoch: int, iteration: int) -> dict[str, float]:
        """One optimisation step; returns the loss values. ``epoch``/``iteration`` are 1-based."""
        if len(batch) == 4:
            x_w, x_s, y, d = batch
            x_s = x_s.to(self.device, non_blocking=True, memory_format=self.memory_format)
        else:
            (x_w, y, d), x_s = batch, None
        x_w = x_w.to(self.device, non_blocking=True, memory_format=self.memory_format)
        y = y.to(self.device, non_blocking=True)
        d = d.to(self.device, non_blocking=True)
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            out, y, d = self.gather(self.forward(x_w, x_s), y, d)
            terms = compute_losses(
                out, y, d, self.memory, self.cfg["method"], self.id_loss, self.model.classifier.weight
            )
            loss = total_loss(terms, self.cfg["method"]["lam"])
        values = self.check_finite(terms, loss, epoch, iteration)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.memory is not None:
            # After the loss, which used the old prototypes; weak views only (docs/reference.md §4.3 step 5).
            self.memory.update(out.f_w.detach(), y)  # the bank keeps fp32
        return values

    @staticmethod
    def check_finite(
        terms: Mapping[str, torch.Tensor], loss: torch.Tensor, epoch: int, iteration: int
    ) -> dict[str, float]:
        """The values of ``loss`` and ``terms``; a non-finite one stops training, naming the terms."""
        stacked = torch.stack([loss.detach().float(), *(t.detach().float() for t in terms.values())])
        values = dict(zip(["loss", *terms], stacked.tolist()))  # one device sync for all values
        bad = [name for name in terms if not math.isfinite(values[name])]
        if bad or not math.isfinite(values["loss"]):
            shown = ", ".join(f"{name}={values[name]}" for name in bad or ["loss"])
            raise TrainingError(
                f"non-finite loss at epoch {epoch}, iteration {iteration}: {shown}. Lower train.lr, or "
                "use train.amp=bf16 or off if fp16 overflowed, and train into a new --out folder"
            )
        return values

    def train_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (0-based): exactly ``train.iters`` iterations."""
        # Per rank: the ranks draw different augmentations (as different images of one batch do).
        seed_everything(epoch_seed(self.cfg["seed"], epoch, self.rank))
        self.loader.set_epoch(epoch)
        self.loader.new_epoch()
        self.net.train()
        lr = self.optimizer.param_groups[0]["lr"]
        log_every = self.cfg["train"]["log_every"]
        window: list[dict[str, float]] = []
        started = time.perf_counter()
        bar = tqdm(
            range(1, self.iters + 1),
            desc=f"epoch {epoch + 1}/{self.epochs}",
            leave=False,
            dynamic_ncols=True,
            disable=not (self.is_main and sys.stderr.isatty()),
        )
        for iteration in bar:
            values = self.train_step(self.loader.next(), epoch + 1, iteration)
            record = {"epoch": epoch + 1, "iter": iteration, "step": epoch * self.iters + iteration, "lr": lr}
            record.update({name: values.get(name) for name in ("loss", *LOSS_TERMS)})
            self.losses_log.append(record)
            window.append(values)
            bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
            if iteration % log_every == 0 or iteration == self.iters:
                means = {k: sum(v[k] for v in window) / len(window) for k in window[0]}
                log.info(
                    "epoch %d iter %d/%d lr %.3g %s",
                    epoch + 1,
                    iteration,
                    self.iters,
                    lr,
                    " ".join(f"{k} {v:.4f}" for k, v in means.items()),
                )
                window = []
        seconds = time.perf_counter() - started
        log.info(
            "epoch %d done: %d iterations in %.1f s (%.3f s/iter)", epoch + 1, self.iters, seconds, seconds / self.iters
        )

    # ----------------------------------------------------------- evaluation

    def evaluate(self, epoch: int) -> None:
        """Every target, on rank 0 (the other ranks wait)."""
        if self.is_main:
            self.net.eval()
            self.evaluate_targets(epoch)
            self.net.train()
        ddp.barrier()

    def evaluate_targets(self, epoch: int) -> None:
        options = EvalOptions.from_run_config(self.cfg)
        final = epoch == self.epochs
        for target in self.cfg["data"]["targets"]:
            features = self.dirs.final_features(target) if final else None
            metrics = evaluate_model(
                self.model, target, self.cfg["data"]["root"], options, device=self.device, save_features=features
            )
            if final:  # bau evaluate --run reuses it (bau.evaluation.cli.reuse_final_evaluation)
                key = evaluation_key(epoch, self.device.type, self.cfg["data"]["root"], options)
                write_json(self.dirs.final_metrics(target), {**key, "metrics": metrics})
            summary = {name: float(metrics["summary"][name]["mean"]) for name in SUMMARY_METRICS}
            self.evals_log.append({"epoch": epoch, "dataset": target, **summary})
            shown = " ".join(f"{name} {100 * value:.1f}%" for name, value in summary.items())
            log.info("epoch %d %s: %s", epoch, target, shown)

    # ------------------------------------------------------ save and resume

    def checkpoint(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "model_config": self.model.model_config,
            "model": self.model.state_dict(),
            "id_loss": self.id_loss.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "memory": None if self.memory is None else self.memory.state_dict(),
            "config": self.cfg,
            "config_hash": self.hash,
            "rng": get_rng_state(),
        }

    def save(self, epoch: int) -> None:
        """End of epoch ``epoch`` (1-based): logs, then the checkpoints (last.pth last); rank 0 only."""
        if not self.is_main:
            return
        self.losses_log.flush()
        self.evals_log.flush()
        checkpoint = self.checkpoint(epoch)
        if epoch in self.eval_epochs:
            save_checkpoint(self.dirs.epoch_checkpoint(epoch), checkpoint)
        save_checkpoint(self.dirs.last_checkpoint, checkpoint)

    def resume(self) -> int:
        """Load checkpoints/last.pth if there is one; returns the number of completed epochs."""
        path = self.dirs.last_checkpoint
        if not path.is_file():
            self.resume_logs(0)
            return 0
        # On the CPU: RNG states must stay there; load_state_dict moves the rest to the device.
        checkpoint = load_checkpoint(path, map_location="cpu")
        if checkpoint["config_hash"] != self.hash:
            raise TrainingError(
                f"{path} was written by a run of another configuration (config hash "
                f"{checkpoint['config_hash']}, this one {self.hash}). Use a new --out folder, or "
                "delete that folder to start over"
            )
        self.model.load_state_dict(checkpoint["model"])
        self.id_loss.load_state_dict(checkpoint.get("id_loss", {}))
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.scaler.load_state_dict(checkpoint["scaler"])
        if checkpoint["memory"] is not None:
            momentum = self.cfg["method"]["memory_momentum"]
            self.memory = MemoryBank.from_state_dict(checkpoint["memory"], momentum=momentum).to(self.device)
        set_rng_state(checkpoint["rng"])
        epoch = checkpoint["epoch"]
        self.resume_logs(epoch)
        log.info("resumed from %s after epoch %d of %d", path, epoch, self.epochs)
        return epoch

    def resume_logs(self, completed_epochs: int) -> None:
        """Drop the log records past the checkpoint (the logs are rank 0's to write)."""
        if self.is_main:
            self.losses_log.resume(completed_epochs)
            self.evals_log.resume(completed_epochs)

    def finish(self) -> dict[str, Any]:
        """final.json: per target the last epoch's and the best evaluation's (max mAP) metrics."""
        if not self.is_main:
            ddp.barrier()  # until rank 0 wrote it
            return read_json(self.dirs.final)
        targets: dict[str, Any] = {}
        for target in self.cfg["data"]["targets"]:
            records = [r for r in self.evals_log.records if r["dataset"] == target]
            last = max(records, key=lambda r: r["epoch"])
            # The first of equal maxima, as the reference (it saves only on a strict improvement).
            best = max(sorted(records, key=lambda r: r["epoch"]), key=lambda r: r["mAP"])
            targets[target] = {"last": self._selected(last), "best_of_eval": self._selected(best)}
        losses = loss_record(self.losses_log.records, ("loss", *LOSS_TERMS))
        final = {
            "epochs": self.epochs,
            "config_hash": self.hash,
            "precision": precision_name(self.amp_dtype),
            "targets": targets,
            "losses": losses,
        }
        if losses["first_epoch"] is not None:
            first, last = losses["first_epoch"], losses["last_epoch"]
            log.info(
                "mean losses, epoch %d -> epoch %d: %s",
                first["epoch"],
                last["epoch"],
                ", ".join(
                    f"{t} {first[t]:.4f} -> {last[t]:.4f}" for t in ("loss", *LOSS_TERMS) if t in first and t in last
                ),
            )
        if losses["still_falling"]:
            log.warning("the run ended while its loss was still falling steeply (%s)", losses["rule"])
        if losses["undertrained"]:
            log.warning("the run barely trained: more iterations or a higher lr would change it (%s)", losses["rule"])
        write_json(self.dirs.final, final)
        log.info("training complete: %s", self.dirs.final)
        ddp.barrier()
        return final

    def _selected(self, record: Mapping[str, Any]) -> dict[str, Any]:
        checkpoint = self.dirs.epoch_checkpoint(record["epoch"]).relative_to(self.dirs.root)
        metrics = {name: record[name] for name in SUMMARY_METRICS}
        return {**metrics, "epoch": record["epoch"], "checkpoint": str(checkpoint)}


def initial_memory(model: torch.nn.Module, train_set: Any, cfg: Mapping[str, Any], device: torch.device) -> MemoryBank:
    """The memory bank of ``model`` before training: per identity, the normalised mean of its
    training images' features (docs/reference.md §4.1 step 4).

    The features come from the evaluation's extractor, as in the reference (official
    ``examples/train_bau.py`` calls ``extract_features``): eval mode, test transform, fp32, no
    flip, the training images in sorted-path order. ``train_set`` is a
    :class:`bau.datasets.multisource.MultiSourceTrain`, ``cfg`` the resolved run config.
    """
    items = sorted(train_set.items, key=lambda item: item.path)
    features = extract_features(
        model,
        [item.path for item in items],
        height=cfg["model"]["height"],
        width=cfg["model"]["width"],
        batch_size=cfg["eval"]["batch_size"],
        device=device,
        amp=False,
        workers=cfg["data"]["workers"],
        progress=False,
    )
    return MemoryBank.from_features(
        features.to(device),
        [item.pid for item in items],
        train_set.class_domains,
        train_set.num_classes,
        momentum=cfg["method"]["memory_momentum"],
    )
