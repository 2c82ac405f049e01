"""What the workflow asks for: the validated settings, its runs, evaluations, tables and
figures, the datasets they read, and the options of each job.

The Snakefile builds one :class:`Plan` from its configuration and keeps only rules, input
functions and path patterns; every path comes from :mod:`bau.layout`. Torch-free, so that
parsing the workflow stays fast.
"""

from __future__ import annotations

import errno
import importlib.util
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bau.config import (
    config_hash,
    evaluated_as,
    fill_defaults,
    load_schema,
    protocol_seeds,
    resolve_run,
    resolve_sweep_run,
    seeds_from_command_line,
    sweep_default,
    trained_runs,
    validate,
)
from bau.datasets import get_parser
from bau.datasets.verify import verify_groups, verify_key
from bau.errors import ConfigError
from bau.io import write_text, write_yaml
from bau.layout import (
    FIGURE_FORMATS,
    SWEEP_SEPARATOR,
    TABLE_FORMATS,
    EvalKey,
    Layout,
    RunDir,
    RunKey,
    sweep_method,
)
from bau.report.labels import dataset_label, method_label, protocol_label, transfer_label

#: Figure kinds, in the order of the configuration's `figures` list.
FIGURE_KINDS = ("loss_curves", "cmc", "align_uniform", "tsne", "retrieval")
TABLE_KINDS = ("protocol", "ablation", "pairs")
#: Kinds of the analysis figures (config `analyses`), each drawn by `bau figure sweep_<kind>`.
ANALYSIS_KINDS = ("map", "align_uniform", "tsne")
#: The figure kind (results/figures/<kind>/) of the analysis figures.
ANALYSES_DIR = "analyses"

# The bau.report modules that draw tables and figures: declared as inputs of those rules, so
# that editing them reruns only what they draw (Snakemake sees a rule's command change, not
# the package's code).
TABLE_MODULES = ("tables", "table_formats", "labels", "reported")
FIGURE_MODULES = (
    "figures",
    "curves",
    "embedding_metrics",
    "embedding_plots",
    "retrieval",
    "inputs",
    "labels",
    "plotting",
)
ANALYSIS_MODULES = ("analyses", "figures", "embedding_metrics", "embedding_plots", "inputs", "labels", "plotting")


@dataclass(frozen=True)
class SweepPoint:
    """One value of a sweep with one seed: the run that trains it and the evaluation of the
    sweep's target (the base run's and its evaluation when the configurations are equal)."""

    sweep: str
    index: int  # of the value in the sweep's `values`
    value: bool | int | float | str
    seed: str
    run: RunKey
    evaluation: EvalKey

    @property
    def reused(self) -> bool:
        return SWEEP_SEPARATOR not in self.run.method


def module_files(modules: Sequence[str]) -> list[str]:
    """The source files of ``bau.report`` modules, found without importing them."""
    return [importlib.util.find_spec(f"bau.report.{m}").origin for m in modules]


class Plan:
    """Everything a workflow configuration asks for, checked before any job runs (the schema
    and the rules between keys, bau.config.validate)."""

    def __init__(self, config: Mapping[str, Any], source: str = "the configuration") -> None:
        # Defaults are filled here, not by snakemake's validate(), which would write the run
        # defaults into every partial `methods.*` override, where they would win over `run`.
        config = seeds_from_command_line(config)
        validate(config, "workflow", source=source)
        self.source = source
        self.settings: dict = fill_defaults(dict(config), load_schema())
        self.layout = Layout(self.settings["results"])
        self.protocols: dict = self.settings["protocols"]
        self.tables: dict = self.settings.get("tables", {})
        self.resources: dict = self.settings["resources"]
        self.sweeps: dict = self.settings.get("sweeps", {})
        self.analyses: dict = self.settings.get("analyses", {})
        self._resolved: dict[RunKey, dict] = {}
        self._points: dict[str, list[SweepPoint]] | None = None
        self._trained: dict[RunKey, RunKey] | None = None

    # ------------------------------------------------------------------ configuration

    def methods_of(self, protocol: str) -> list[str]:
        return self.protocols[protocol]["methods"]

    def seeds_of(self, protocol: str) -> list[str]:
        """The protocol's training seeds, as the text of their wildcard (bau.config.protocol_seeds)."""
        return [str(s) for s in protocol_seeds(self.settings, protocol)]

    def first_seed(self, protocol: str) -> str:
        """The seed of the figures that show one run (loss curves, t-SNE, retrieval, CMC,
        alignment/uniformity)."""
        return self.seeds_of(protocol)[0]

    @property
    def all_seeds(self) -> list[str]:
        """Every seed some protocol trains with (the `seed` wildcard's values)."""
        return sorted({s for p in self.protocols for s in self.seeds_of(p)}, key=int)

    def write_settings(self, path: str, log: str) -> None:
        """The effective workflow configuration (files and --config merged, defaults filled)."""
        write_yaml(path, self.settings)
        write_text(log, f"wrote {path} (config hash {config_hash(self.settings)})\n")

    # ------------------------------------------------------------------------- runs

    @property
    def trained(self) -> dict[RunKey, RunKey]:
        """Each run of the protocols -> the run that trains it (bau.config.trained_runs: equal
        resolved configurations are trained and evaluated once, in the first one's folders)."""
        if self._trained is None:
            self._trained = trained_runs(self.settings, digest=self.run_hash)
        return self._trained

    def evaluated(self, evaluation: EvalKey) -> EvalKey:
        """The evaluation that holds ``evaluation``'s results (that of the run training it)."""
        return evaluated_as(self.trained, self.settings, evaluation)

    def _asked_runs(self) -> list[RunKey]:
        # Of table_protocols only: a protocol that only sweeps use and no table shows trains its
        # sweeps' runs (sweep_runs) and nothing else.
        return [
            RunKey(p, r, m, seed)
            for p in self.table_protocols
            for r in self.protocols[p]["runs"]
            for m in self.methods_of(p)
            for seed in self.seeds_of(p)
        ]

    def _asked_evaluations(self) -> list[EvalKey]:
        return [
            EvalKey(protocol, target, method, seed)
            for protocol in self.table_protocols
            for run_spec in self.protocols[protocol]["runs"].values()
            for target in run_spec["targets"]
            for method in self.methods_of(protocol)
            for seed in self.seeds_of(protocol)
        ]

    @property
    def runs(self) -> list[RunKey]:
        """Every run the protocols' methods train, each once (:attr:`trained`)."""
        return list(dict.fromkeys(self.trained[run] for run in self._asked_runs()))

    @property
    def evaluations(self) -> list[EvalKey]:
        """Every evaluation, each once; a target is evaluated from its one run, per seed."""
        return list(dict.fromkeys(self.evaluated(e) for e in self._asked_evaluations()))

    def run_spec(self, protocol: str, run: str) -> dict:
        return self.protocols[protocol]["runs"][run]

    def run_of(self, evaluation: EvalKey) -> RunKey:
        """The run of the evaluation's protocol whose targets include its target (same seed)."""
        for run, spec in self.protocols[evaluation.protocol]["runs"].items():
            if evaluation.target in spec["targets"]:
                return RunKey(evaluation.protocol, run, evaluation.method, evaluation.seed)
        raise ConfigError(f"protocols.{evaluation.protocol} has no run with target '{evaluation.target}'")

    def resolved_run(self, run: RunKey) -> dict:
        """The full configuration of one run (bau.config.resolve_run; a sweep's run:
        bau.config.resolve_sweep_run), resolved once; callers only read it."""
        if run not in self._resolved and SWEEP_SEPARATOR in run.method:
            _ = self.sweep_points  # resolves every sweep's runs
            if run not in self._resolved:
                raise ConfigError(f"{self.layout.run_dir(run)} is not a run of any sweep under 'sweeps'")
        if run not in self._resolved:
            self._resolved[run] = resolve_run(self.settings, run.protocol, run.run, run.method, run.seed)
        return self._resolved[run]

    def run_hash(self, run: RunKey) -> str:
        return config_hash(self.resolved_run(run))

    def settings_hash(self) -> str:
        return config_hash(self.settings)

    def protocol_metrics(self, protocol: str) -> list[str]:
        evaluations = (self.evaluated(e) for e in self._asked_evaluations() if e.protocol == protocol)
        return [self.layout.metrics(e) for e in dict.fromkeys(evaluations)]

    def _first_seed_runs(self, protocol: str, run: str) -> list[RunKey]:
        seed = self.first_seed(protocol)
        return [self.trained[RunKey(protocol, run, m, seed)] for m in self.methods_of(protocol)]

    def run_finals(self, protocol: str, run: str) -> list[str]:
        """final.json of each method's run with the first seed (the loss-curve figure)."""
        return [self.layout.final(r) for r in self._first_seed_runs(protocol, run)]

    def run_losses(self, protocol: str, run: str) -> list[str]:
        return [self.layout.losses(r) for r in self._first_seed_runs(protocol, run)]

    # ------------------------------------------------------------------------ sweeps

    @property
    def sweep_points(self) -> dict[str, list[SweepPoint]]:
        """Sweep name -> its points (values in order, each with the protocol's seeds).

        A value whose resolved run configuration equals that of a run the workflow trains
        anyway (a method of the protocol: the base run at its own value, or another method
        that is the same variant), of the sweep's base run (its method in its own folder,
        also when no table trains it) or of an earlier sweep's value is that run: it is
        trained and evaluated once.
        """
        if self._points is None:
            # The runs the protocols train, by resolved configuration (one per configuration:
            # :attr:`trained`); sources, targets and seed are part of it.
            known: dict[str, RunKey] = {self.run_hash(run): run for run in self.runs}
            self._points = {}
            for name, spec in self.sweeps.items():
                points = []
                for seed in self.seeds_of(spec["protocol"]):
                    base = RunKey(spec["protocol"], spec["run"], spec["method"], seed)
                    known.setdefault(self.run_hash(base), base)
                for index, value in enumerate(spec["values"]):
                    for seed in self.seeds_of(spec["protocol"]):
                        config = resolve_sweep_run(self.settings, name, value, seed)
                        own = RunKey(spec["protocol"], spec["run"], sweep_method(name, spec["parameter"], value), seed)
                        run = known.setdefault(config_hash(config), own)
                        self._resolved.setdefault(run, config)
                        evaluation = EvalKey(run.protocol, self.sweep_target(name), run.method, seed)
                        points.append(SweepPoint(name, index, value, seed, run, evaluation))
                self._points[name] = points
        return self._points

    def sweep_target(self, sweep: str) -> str:
        spec = self.sweeps[sweep]
        return spec.get("target") or self.run_spec(spec["protocol"], spec["run"])["targets"][0]

    def sweep_default(self, sweep: str) -> bool | int | float | str:
        """The parameter's value in the sweep's base run (its method with the sweep's `set`)."""
        return sweep_default(self.settings, sweep)

    @property
    def sweep_runs(self) -> list[RunKey]:
        """The runs the sweeps add (not those they reuse), each once."""
        trained = set(self.runs)
        return list(dict.fromkeys(p.run for ps in self.sweep_points.values() for p in ps if p.run not in trained))

    @property
    def sweep_evaluations(self) -> list[EvalKey]:
        return list(dict.fromkeys(p.evaluation for ps in self.sweep_points.values() for p in ps))

    @property
    def all_runs(self) -> list[RunKey]:
        """The runs of the protocols and of the sweeps (the wildcards' values)."""
        return self.runs + self.sweep_runs

    @property
    def all_evaluations(self) -> list[EvalKey]:
        return list(dict.fromkeys(self.evaluations + self.sweep_evaluations))

    @property
    def method_folders(self) -> list[str]:
        """The `method` wildcard's values: the methods and the sweeps' own runs."""
        return [*self.settings["methods"], *dict.fromkeys(r.method for r in self.sweep_runs)]

    def sweep_label(self, sweep: str) -> str:
        spec = self.sweeps[sweep]
        if spec.get("label"):
            return spec["label"]
        sources = self.run_spec(spec["protocol"], spec["run"])["sources"]
        return f"{method_label(spec['method'])}, {transfer_label(sources, self.sweep_target(sweep))}"

    def value_label(self, sweep: str, index: int) -> str:
        spec = self.sweeps[sweep]
        if spec.get("value_labels"):
            return spec["value_labels"][index]
        return f"{spec['parameter']} = {json.dumps(spec['values'][index])}"

    # ---------------------------------------------------------------------- analyses

    def analyses_of_kind(self, kind: str) -> list[str]:
        return [name for name, spec in self.analyses.items() if spec["kind"] == kind]

    @property
    def analysis_outputs(self) -> list[str]:
        return [path for name in self.analyses for path in self.analysis_outputs_of(name)]

    def analysis_outputs_of(self, analysis: str) -> list[str]:
        return [self.layout.figure(ANALYSES_DIR, analysis, fmt=fmt) for fmt in FIGURE_FORMATS]

    def _analysis_entries(self, analysis: str) -> list[tuple[str, dict]]:
        """(input file, what it is) of an analysis figure, in the order of its inputs."""
        spec = self.analyses[analysis]
        entries = []
        for sweep in spec["sweeps"]:
            sweep_spec = self.sweeps[sweep]
            common = {
                "series": self.sweep_label(sweep),
                "parameter": sweep_spec["parameter"],
                "default": self.sweep_default(sweep),
                "target": dataset_label(self.sweep_target(sweep)),
            }
            points = self.sweep_points[sweep]
            if spec["kind"] == "tsne":
                first = self.first_seed(sweep_spec["protocol"])
                for point in (p for p in points if p.seed == first):
                    panel = {
                        **common,
                        "value": point.value,
                        "seed": first,
                        "panel": self.value_label(sweep, point.index),
                    }
                    for source in self.run_spec(point.run.protocol, point.run.run)["sources"]:
                        entry = panel | {"domain": dataset_label(source)}
                        entries.append((self.layout.source_features(point.run, source), entry))
                continue
            for point in points:
                path = self.layout.metrics if spec["kind"] == "map" else self.layout.features
                entries.append((path(point.evaluation), {**common, "value": point.value, "seed": point.seed}))
        return entries

    def analysis_inputs(self, analysis: str) -> list[str]:
        return list(dict.fromkeys(path for path, _ in self._analysis_entries(analysis)))

    def analysis_points(self, analysis: str) -> str:
        """What each input of :meth:`analysis_inputs` is, as JSON (`bau figure sweep_* --points`)."""
        entries = self._analysis_entries(analysis)
        order = self.analysis_inputs(analysis)
        by_path: dict[str, list[dict]] = {}
        for path, entry in entries:
            by_path.setdefault(path, []).append(entry)
        # one input may stand for several points (a value two sweeps share): listed per input
        return json.dumps([by_path[path] for path in order], separators=(",", ":"))

    def analysis_title(self, analysis: str) -> str:
        return self.analyses[analysis].get("title", "")

    # --------------------------------------------------------------------- datasets

    def _read_datasets(self, *roles: str) -> list[str]:
        return sorted(
            {
                d
                for spec in self.protocols.values()
                for run_spec in spec["runs"].values()
                for role in roles
                for d in run_spec[role]
            }
        )

    @property
    def datasets(self) -> list[str]:
        """Every dataset name the runs read."""
        return self._read_datasets("sources", "targets")

    @property
    def sources(self) -> list[str]:
        return self._read_datasets("sources")

    @property
    def split_datasets(self) -> list[str]:
        """The small target datasets (GRID, iLIDS, PRID, VIPeR): their splits are pinned before
        anything uses them."""
        return [d for d in self._read_datasets("targets") if get_parser(d).has_splits]

    @property
    def verify_groups(self) -> dict[str, list[str]]:
        """Dataset folder key -> the dataset names the runs read from that folder: one `bau
        verify` per folder runs each name's own checks (a *dg variant's too) and decodes the
        images once."""
        return verify_groups(self.datasets)

    def verify_report(self, dataset: str) -> str:
        """The report of the `bau verify` job that checks ``dataset``."""
        return self.layout.verify_report(verify_key(dataset))

    def data_inputs(self, datasets: Sequence[str]) -> list[str]:
        """The verify reports (the gate) and split files that training or evaluating needs."""
        reports = sorted({self.verify_report(d) for d in datasets})
        seed = self.settings["split_seed"]
        splits = [self.layout.splits(d, seed) for d in sorted(set(datasets)) if get_parser(d).has_splits]
        return reports + splits

    def run_data(self, run: RunKey) -> list[str]:
        spec = self.run_spec(run.protocol, run.run)
        return self.data_inputs(spec["sources"] + spec["targets"])

    def source_image_dir(self, source: str) -> str:
        """A source's training images: the first image folder of its layout (for CUHK02, the
        first view of camera pair P1), a sample of the domain for the t-SNE map."""
        return str(Path(self.settings["data"]["root"]) / get_parser(source).layout.image_dirs[0])

    # ------------------------------------------------------------------- evaluation

    @property
    def eval_device(self) -> str:
        """Evaluation and feature extraction run where training does: on CPU for a CPU
        configuration (also on a machine with GPUs), else on a GPU."""
        return "auto" if self.resources["gpus_per_run"] > 0 else "cpu"

    @property
    def eval_gpus(self) -> int:
        """GPUs an evaluation or extraction job counts in the `gpu` resource."""
        return min(1, self.resources["gpus_per_run"])

    def gpu_limit(self, available: int) -> tuple[int, str | None]:
        """The `gpu` resource limit of a local run on a machine with ``available`` GPUs, and a
        warning when training jobs need more than it has.

        Without `--resources gpu=N` Snakemake's resource is unlimited; capping it at the
        machine's GPUs (0 without CUDA) means a bare run never starts more GPU jobs than there
        are GPUs (each training job also leases its device ids, bau.distributed.lease).
        """
        need = self.resources["gpus_per_run"]
        warning = None
        if available < need:
            warning = (
                f"resources.gpus_per_run is {need} but this machine has {available} GPU(s): training jobs would fail "
                "to lease them. Run where the GPUs are, or set resources.gpus_per_run: 0 to train on CPU."
            )
        return available, warning

    # ----------------------------------------------------------------------- tables

    def tables_of_kind(self, kind: str) -> list[str]:
        return [name for name, table in self.tables.items() if table["kind"] == kind]

    def table_evaluations(self, table: str, first_seed: bool = False) -> list[EvalKey]:
        """Every evaluation a table shows (every seed), in :attr:`evaluations` order;
        ``first_seed``: those of the first seed only (the figures of the table)."""
        spec = self.tables[table]
        seeds = self.seeds_of(spec["protocol"])[:1] if first_seed else self.seeds_of(spec["protocol"])
        asked = (
            e
            for e in self._asked_evaluations()
            if e.protocol == spec["protocol"] and e.method in spec["methods"] and e.seed in seeds
        )
        return list(dict.fromkeys(self.evaluated(e) for e in asked))

    def table_targets(self, table: str) -> list[str]:
        """The targets of a table's protocol, in configuration order."""
        protocol = self.tables[table]["protocol"]
        return [t for spec in self.protocols[protocol]["runs"].values() for t in spec["targets"]]

    def table_metrics(self, table: str, first_seed: bool = False) -> list[str]:
        return [self.layout.metrics(e) for e in self.table_evaluations(table, first_seed)]

    def table_features(self, table: str) -> list[str]:
        """The first seed's features of the table's evaluations (alignment/uniformity)."""
        return [self.layout.features(e) for e in self.table_evaluations(table, first_seed=True)]

    def target_features(self, table: str, target: str) -> list[str]:
        """The first seed's features of one target (ranked retrieval lists)."""
        protocol = self.tables[table]["protocol"]
        seed = self.first_seed(protocol)
        evaluations = (self.evaluated(EvalKey(protocol, target, m, seed)) for m in self.tables[table]["methods"])
        return [self.layout.features(e) for e in evaluations]

    @property
    def table_outputs(self) -> list[str]:
        return [self.layout.table(name, fmt) for name in self.tables for fmt in TABLE_FORMATS]

    # ---------------------------------------------------------------------- figures

    @property
    def figure_files(self) -> dict[str, list[str]]:
        """Figure kind -> its PNG files (each with its PDF beside it)."""
        figure = self.layout.figure
        protocol_tables = self.tables_of_kind("protocol")  # what t-SNE and ranked lists show
        # The t-SNE maps: per protocol table, the first run of its protocol, one per method
        # (with the first seed: tsne_run).
        tsne_runs = dict.fromkeys(
            (self.tables[t]["protocol"], next(iter(self.protocols[self.tables[t]["protocol"]]["runs"])), m)
            for t in protocol_tables
            for m in self.tables[t]["methods"]
        )
        return {
            # One figure per training run (protocol / run), its methods overlaid.
            "loss_curves": [
                figure("loss_curves", p, r) for p in self.table_protocols for r in self.protocols[p]["runs"]
            ],
            # One figure per table: a panel per target, the table's methods overlaid.
            "cmc": [figure("cmc", t) for t in self.tables],
            "align_uniform": [figure("align_uniform", t) for t in self.tables],
            # Per protocol table and target: a few queries and their ranked lists, a row per method.
            "retrieval": [figure("retrieval", t, target) for t in protocol_tables for target in self.table_targets(t)],
            "tsne": [figure("tsne", *run) for run in tsne_runs],
        }

    @property
    def table_protocols(self) -> list[str]:
        """The protocols whose methods' runs the workflow trains (all_tables, the protocol
        targets): all but those that only sweeps use and no table shows (e.g. the
        in-distribution protocol of the paper's Fig. 1), whose runs only `analyses` trains."""
        shown = {t["protocol"] for t in self.tables.values()}
        swept = {s["protocol"] for s in self.sweeps.values()}
        return [p for p in self.protocols if p in shown or p not in swept]

    @property
    def figure_outputs(self) -> list[str]:
        files = self.figure_files
        return [
            path.removesuffix(f".{FIGURE_FORMATS[0]}") + f".{fmt}"
            for kind in self.settings["figures"]
            for path in files[kind]
            for fmt in FIGURE_FORMATS
        ]

    def tsne_run(self, protocol: str, run: str, method: str) -> RunKey:
        """The run a t-SNE figure shows: the first seed's (where it is trained)."""
        return self.trained[RunKey(protocol, run, method, self.first_seed(protocol))]

    def tsne_features(self, run: RunKey) -> list[str]:
        """Features of each source domain (extracted) and of each target (evaluated)."""
        spec = self.run_spec(run.protocol, run.run)
        sources = [self.layout.source_features(run, s) for s in spec["sources"]]
        evaluations = [EvalKey(run.protocol, t, run.method, run.seed) for t in spec["targets"]]
        return sources + [self.layout.features(e) for e in evaluations]

    def tsne_labels(self, run: RunKey) -> list[str]:
        spec = self.run_spec(run.protocol, run.run)
        return [dataset_label(d) for d in spec["sources"] + spec["targets"]]

    def tsne_targets(self, run: RunKey) -> list[str]:
        return [dataset_label(d) for d in self.run_spec(run.protocol, run.run)["targets"]]

    def tsne_title(self, run: RunKey) -> str:
        return (
            f"t-SNE of source and target features\n{protocol_label(run.protocol)}, run {run.run}, "
            f"{method_label(run.method)}, seed {run.seed}"
        )

    def table_title(self, table: str) -> str:
        """The table's ``title``, else its protocol's name (figure titles)."""
        spec = self.tables[table]
        return spec.get("title") or f"{protocol_label(spec['protocol'])}, table {table}"

    def align_uniform_title(self, table: str) -> str:
        return f"Alignment and uniformity of the target features\n{self.table_title(table)}"

    def cmc_title(self, table: str) -> str:
        return f"CMC curves\n{self.table_title(table)}"

    def selected_checkpoint(self, run: RunKey) -> str:
        """The checkpoint the config's `selection` names for the run's first target, from its
        final.json. While the run is not finished this raises FileNotFoundError, which a
        Snakemake dry run takes as "known when the job runs"."""
        final = self.layout.final(run)
        if not Path(final).is_file():
            raise FileNotFoundError(errno.ENOENT, "the run is not finished", final)
        target = self.run_spec(run.protocol, run.run)["targets"][0]
        return str(RunDir(Path(self.layout.run_dir(run))).selected(self.settings["selection"], target)[0])
