"""Where every result file lives: the one home of the path patterns and file names that the
workflow, ``bau train``, ``bau evaluate``, tables and figures share.

::

    RESULTS/config.yaml                              the effective workflow configuration
    RESULTS/verify/<folder>.json                     `bau verify` report of one dataset folder
    RESULTS/splits/<dataset>_seed<seed>.json         pinned splits of grid, ilids, prid, viper
    RESULTS/runs/<protocol>/<run>/<method>/seed<seed>/   one training run (RunDir):
        (a sweep's value is a run whose <method> folder is <sweep>+<leaf>-<value>: sweep_method)
        config.yaml log.txt losses.jsonl evals.jsonl final.json
        checkpoints/last.pth checkpoints/epoch_XXX.pth
        features/<source>.npz                        a source domain's features (t-SNE)
    RESULTS/<protocol>/<target>/<method>/seed<seed>/metrics.json, features.npz   `bau evaluate`
    RESULTS/tables/<table>.{md,csv,tex}
    RESULTS/figures/<kind>/.../<name>.{png,pdf}
    RESULTS/logs/<step>/....log, RESULTS/benchmarks/<step>/....tsv
    DATA_ROOT/bau_synthetic.json                     marker of a generated synthetic benchmark

A training run is named by a :class:`RunKey` and an evaluation by an :class:`EvalKey`: their
fields are the folders of the run's and the evaluation's paths, in order, and the workflow's
wildcard names. Adding a path dimension (a seed, a sweep value) is one new field of a key;
Snakemake patterns are the same methods called with ``pattern(RunKey)`` (fields
``{protocol}``, ``{run}``, ...), so they follow. :func:`folders` gives a key's folder names:
a field is its own folder, except the seed, whose folder is ``seed<seed>`` (``seed1``), so
that a seed folder is never mistaken for a method or target name.

Each seed of the configuration's ``seeds`` (bau.config.protocol_seeds) is its own training
run and its own evaluation: the run's ``seed`` is set from the key.

Torch-free and free of the rest of ``bau`` (beyond its errors): every layer may import it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from bau.errors import BauError, TrainingError

# ------------------------------------------------------------------------ file names

#: The run folder of `bau train` (see RunDir).
RUN_CONFIG = "config.yaml"
RUN_LOG = "log.txt"
LOSSES = "losses.jsonl"
EVALS = "evals.jsonl"
FINAL = "final.json"
CHECKPOINTS = "checkpoints"
FINAL_EVALUATION = "final_evaluation"
LAST_CHECKPOINT = "last.pth"
SOURCE_FEATURES = "features"
#: `bau evaluate` outputs, in the evaluation folder.
METRICS = "metrics.json"
FEATURES = "features.npz"
#: The effective workflow configuration at the top of the results folder.
SETTINGS = "config.yaml"
#: Written last by `bau synth` at the data root; read by `bau verify` and the PRID parser.
SYNTHETIC_MARKER = "bau_synthetic.json"
#: Default results folder (the schema's `results` default).
DEFAULT_RESULTS = "results"

TABLE_FORMATS = ("md", "csv", "tex")
FIGURE_FORMATS = ("png", "pdf")

# Folders directly under the results folder that are not protocols (a protocol of one of
# these names would mix its evaluations into them).
VERIFY_DIR = "verify"
SPLITS_DIR = "splits"
RUNS_DIR = "runs"
TABLES_DIR = "tables"
FIGURES_DIR = "figures"
LOGS_DIR = "logs"
BENCHMARKS_DIR = "benchmarks"
RESERVED = frozenset({VERIFY_DIR, SPLITS_DIR, RUNS_DIR, TABLES_DIR, FIGURES_DIR, LOGS_DIR, BENCHMARKS_DIR, "config"})


def epoch_checkpoint_name(epoch: int) -> str:
    """``epoch_007.pth``: the checkpoint of 1-based epoch ``epoch``."""
    return f"epoch_{epoch:03d}.pth"


# ------------------------------------------------------------------------------ keys


class RunKey(NamedTuple):
    """One training run: its folder is ``runs/<protocol>/<run>/<method>/seed<seed>``."""

    protocol: str
    run: str
    method: str
    seed: str


class EvalKey(NamedTuple):
    """One evaluation (a target of a protocol, one method, one seed's run):
    ``<protocol>/<target>/<method>/seed<seed>``."""

    protocol: str
    target: str
    method: str
    seed: str


#: Key fields whose folder name is not the field's value: field -> folder-name format.
FOLDER_FORMATS = {"seed": "seed{}"}


def seed_label(seed: int | str) -> str:
    """``seed1``: the folder (and log/benchmark file) name of a seed."""
    return FOLDER_FORMATS["seed"].format(seed)


def is_seed_folder(name: str) -> bool:
    """Whether a folder name is a seed's (``seed1``)."""
    return re.fullmatch(r"seed[0-9]+", name) is not None


#: Separates a sweep's name from its value in a sweep run's method folder; never part of a
#: configured name (names are letters, digits, _ and -), so the two cannot be confused.
SWEEP_SEPARATOR = "+"


def value_folder(value: bool | int | float | str) -> str:
    """A sweep value as folder text: ``0.5``, ``10``, ``true``; floats keep their dot
    (``1.0``, not ``1``), so that 1 and 1.0 of two sweeps stay apart as YAML types do."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def sweep_method(sweep: str, parameter: str, value: bool | int | float | str) -> str:
    """The method folder of one value of a sweep: ``bau_prob+prob-0.5`` (sweep ``bau_prob``,
    parameter ``augment.prob``, value 0.5). Its run is RunKey(protocol, run, this, seed) and
    its evaluation EvalKey(protocol, target, this, seed): the sweep adds no path pattern, and
    the paths of the configured methods do not move."""
    leaf = parameter.rsplit(".", 1)[-1]
    return f"{sweep}{SWEEP_SEPARATOR}{leaf}-{value_folder(value)}"


def folders(key: RunKey | EvalKey) -> tuple[str, ...]:
    """The folder names of a key, in order (also of a pattern: ``seed{seed}``)."""
    return tuple(FOLDER_FORMATS.get(name, "{}").format(value) for name, value in zip(key._fields, key))


K = TypeVar("K", RunKey, EvalKey)


def pattern(key_type: type[K]) -> K:
    """A key whose fields are Snakemake wildcards (``{protocol}``, ...)."""
    return key_type(*(f"{{{name}}}" for name in key_type._fields))


def key_of(key_type: type[K], wildcards: Any) -> K:
    """The key of a job from its wildcards (any object with the fields as attributes)."""
    return key_type(*(str(getattr(wildcards, name)) for name in key_type._fields))


def alternatives(names: Iterable[str]) -> str:
    """A wildcard constraint (regular expression) matching exactly one of ``names``."""
    names = sorted(set(names), key=len, reverse=True)
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


# ------------------------------------------------------------------ free functions


def split_name(dataset: str, seed: int | str) -> str:
    """``grid_seed1``: the splits of ``dataset`` made with ``seed`` (file, log and benchmark)."""
    return f"{dataset}_seed{seed}"


def split_file(splits_dir: str | Path, dataset: str, seed: int | str) -> Path:
    """The pinned split file of ``dataset`` with ``seed`` under ``splits_dir``."""
    return Path(splits_dir) / f"{split_name(dataset, seed)}.json"


def synthetic_marker(data_root: str | Path) -> str:
    """The marker `bau synth` writes last at ``data_root``."""
    return posixpath.join(str(data_root), SYNTHETIC_MARKER)


def metrics_beside(features: str | Path) -> Path:
    """The metrics file `bau evaluate` writes beside a features file it writes."""
    return Path(features).with_name(METRICS)


# ------------------------------------------------------------------------ run folder


@dataclass(frozen=True)
class RunDir:
    """Where each output of one training run lives (``bau train --out ROOT``)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / RUN_CONFIG

    @property
    def log(self) -> Path:
        return self.root / RUN_LOG

    @property
    def losses(self) -> Path:
        return self.root / LOSSES

    @property
    def evals(self) -> Path:
        return self.root / EVALS

    @property
    def final(self) -> Path:
        return self.root / FINAL

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_CHECKPOINT

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / epoch_checkpoint_name(epoch)

    @property
    def final_evaluation(self) -> Path:
        """The trainer's evaluation of its last epoch, one ``<target>.json`` (how it evaluated,
        and the metrics) and ``<target>.npz`` (features) per target: what ``bau evaluate``
        would compute for that checkpoint and those options, so it reuses them."""
        return self.root / FINAL_EVALUATION

    def final_metrics(self, dataset: str) -> Path:
        return self.final_evaluation / f"{dataset}.json"

    def final_features(self, dataset: str) -> Path:
        return self.final_evaluation / f"{dataset}.npz"

    def training_outputs(self) -> list[Path]:
        """What training writes besides config.yaml: stale once the configuration changes."""
        return [self.checkpoints, self.final, self.losses, self.evals, self.log, self.final_evaluation]

    def selected(self, selection: str, dataset: str) -> tuple[Path, int]:
        """``(checkpoint, its epoch)`` that ``selection`` (``last`` or ``best_of_eval``) names
        for ``dataset`` in final.json (written last by `bau train`)."""
        if not self.final.is_file():
            raise TrainingError(
                f"{self.final} is missing: the run in {self.root} is not complete (bau train writes {FINAL} "
                "last). Finish the run, or evaluate one of its checkpoints with --checkpoint"
            )
        final = json.loads(self.final.read_text())
        targets = final.get("targets", {})
        if dataset in targets:
            checkpoint, epoch = (
                self.root / targets[dataset][selection]["checkpoint"],
                targets[dataset][selection]["epoch"],
            )
        elif selection == "last":
            checkpoint, epoch = self.epoch_checkpoint(final["epochs"]), final["epochs"]
        else:
            raise BauError(
                f"{self.final}: the run was not evaluated on {dataset} during training (its targets: "
                f"{', '.join(targets) or 'none'}), so it has no best_of_eval checkpoint for it; use --selection last"
            )
        if not checkpoint.is_file():
            raise TrainingError(f"{checkpoint} (named by {self.final}, selection {selection}) does not exist")
        return checkpoint, int(epoch)


# ----------------------------------------------------------------- results folder


@dataclass(frozen=True)
class Layout:
    """Every path under one results folder, as text (Snakemake patterns are text too)."""

    results: str = DEFAULT_RESULTS

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.results, *parts)

    # Configuration and data checks.
    def settings(self) -> str:
        return self._path(SETTINGS)

    def verify_report(self, folder: str) -> str:
        """The report of one dataset folder (bau.datasets.verify.verify_key of its names)."""
        return self._path(VERIFY_DIR, f"{folder}.json")

    def splits_dir(self) -> str:
        return self._path(SPLITS_DIR)

    def splits(self, dataset: str, seed: int | str) -> str:
        return posixpath.join(self.splits_dir(), f"{split_name(dataset, seed)}.json")

    # Training runs.
    def run_dir(self, run: RunKey) -> str:
        return self._path(RUNS_DIR, *folders(run))

    def run_config(self, run: RunKey) -> str:
        return posixpath.join(self.run_dir(run), RUN_CONFIG)

    def final(self, run: RunKey) -> str:
        return posixpath.join(self.run_dir(run), FINAL)

    def losses(self, run: RunKey) -> str:
        return posixpath.join(self.run_dir(run), LOSSES)

    def source_features(self, run: RunKey, source: str) -> str:
        return posixpath.join(self.run_dir(run), SOURCE_FEATURES, f"{source}.npz")

    # Evaluations.
    def eval_dir(self, evaluation: EvalKey) -> str:
        return self._path(*folders(evaluation))

    def metrics(self, evaluation: EvalKey) -> str:
        return posixpath.join(self.eval_dir(evaluation), METRICS)

    def features(self, evaluation: EvalKey) -> str:
        return posixpath.join(self.eval_dir(evaluation), FEATURES)

    # Tables and figures.
    def tables_dir(self) -> str:
        return self._path(TABLES_DIR)

    def table(self, name: str, fmt: str) -> str:
        return posixpath.join(self.tables_dir(), f"{name}.{fmt}")

    def figure(self, kind: str, *parts: str, fmt: str = "png") -> str:
        """``figures/<kind>/<parts...>.<fmt>``: the last part names the file."""
        *folders, name = parts
        return self._path(FIGURES_DIR, kind, *folders, f"{name}.{fmt}")

    # What each job of the workflow leaves behind.
    def log(self, step: str, *parts: str) -> str:
        """``logs/<step>/<parts...>.log`` (``logs/<step>.log`` without parts)."""
        return self._step_file(LOGS_DIR, "log", step, parts)

    def benchmark(self, step: str, *parts: str) -> str:
        return self._step_file(BENCHMARKS_DIR, "tsv", step, parts)

    def _step_file(self, folder: str, suffix: str, step: str, parts: tuple[str, ...]) -> str:
        *folders, name = (step, *parts)
        return self._path(folder, *folders, f"{name}.{suffix}")
