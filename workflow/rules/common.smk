# Shared definitions of the workflow: the validated configuration, the runs, evaluations,
# tables and figures it asks for, and the path of every output. Definitions only: the rules
# live in the other files (snakemake --lint wants functions and rules apart).

import functools
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

from snakemake.logging import logger

from bau.config import config_hash, fill_defaults, load_schema, resolve_run, validate
from bau.datasets import get_parser
from bau.datasets.verify import verify_key
from bau.evaluation.cli import resolve_checkpoint
from bau.errors import ConfigError
from bau.io import read_json, write_text, write_yaml
from bau.report.labels import dataset_label, method_label, protocol_label

# `bau` of the Python that runs Snakemake also when its environment is not activated
# (`.venv/bin/snakemake ...`); an environment activated by --sdm conda still comes first.
os.environ.update(
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


def alternatives(names):
    """A wildcard constraint matching exactly one of ``names``."""
    names = sorted(names, key=len, reverse=True)
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


# ------------------------------------------------------------------- configuration


def config_source():
    """Where the configuration comes from, for error messages."""
    files = [str(f) for f in workflow.overwrite_configfiles] or ["config/config.yaml"]
    return "the configuration (" + " + ".join(files) + ", with any --config)"


# Validated against workflow/schemas/config.schema.yaml by bau.config, whose errors list
# every bad key with what is allowed. Defaults are filled by bau.config too, not by
# snakemake's validate(), which would write the run defaults into every partial `methods.*`
# override (seed: 1, ...) where they would win over the shared `run` section.
validate(config, "workflow", source=config_source())
SETTINGS = fill_defaults(config, load_schema())
RESULTS = SETTINGS["results"]
DATA_ROOT = SETTINGS["data"]["root"]
SYNTHETIC = SETTINGS["data"]["synthetic"]
RESOURCES = SETTINGS["resources"]
PROTOCOLS = SETTINGS["protocols"]
TABLES = SETTINGS.get("tables", {})
FIGURES = SETTINGS["figures"]
DEFAULT_METHODS = load_schema()["$defs"]["protocol"]["properties"]["methods"]["default"]

# Folders directly under RESULTS that are not protocols.
RESERVED = {
    "runs",
    "tables",
    "figures",
    "splits",
    "verify",
    "logs",
    "benchmarks",
    "config",
}


def methods_of(protocol):
    return PROTOCOLS[protocol].get("methods", DEFAULT_METHODS)


def check_config():
    """Errors a schema cannot express: names that collide with result folders or each other."""
    problems = []
    for name in set(PROTOCOLS) & RESERVED:
        problems.append(
            f"protocol '{name}' has the name of a results folder; rename it"
        )
    for protocol, spec in PROTOCOLS.items():
        for method in methods_of(protocol):
            if method not in SETTINGS["methods"]:
                problems.append(
                    f"protocols.{protocol}.methods: '{method}' is not under 'methods'"
                )
        seen = {}
        for run, run_spec in spec["runs"].items():
            for target in run_spec["targets"]:
                if target in seen:
                    problems.append(
                        f"protocols.{protocol}: target '{target}' is evaluated by runs "
                        f"'{seen[target]}' and '{run}'; each target needs one run"
                    )
                seen[target] = run
    for name, table in TABLES.items():
        if table["protocol"] not in PROTOCOLS:
            problems.append(
                f"tables.{name}.protocol: '{table['protocol']}' is not under 'protocols'"
            )
            continue
        for method in table["methods"]:
            if method not in methods_of(table["protocol"]):
                problems.append(
                    f"tables.{name}: method '{method}' is not trained in protocols.{table['protocol']}.methods"
                )
    if problems:
        raise ConfigError(
            f"{config_source()} is invalid:\n  - " + "\n  - ".join(problems)
        )


check_config()


# -------------------------------------------------------------------------- runs

# (protocol, target, method) of every evaluation; a target is evaluated from its one run.
EVALUATIONS = [
    (protocol, target, method)
    for protocol, spec in PROTOCOLS.items()
    for run_spec in spec["runs"].values()
    for target in run_spec["targets"]
    for method in methods_of(protocol)
]


def run_of(protocol, target):
    """The run of ``protocol`` whose targets include ``target``."""
    for run, spec in PROTOCOLS[protocol]["runs"].items():
        if target in spec["targets"]:
            return run
    raise ConfigError(f"protocols.{protocol} has no run with target '{target}'")


def run_spec(wildcards):
    return PROTOCOLS[wildcards.protocol]["runs"][wildcards.run]


@functools.cache
def resolved_run(protocol, run, method):
    """The full configuration of one run (bau.config.resolve_run), resolved once per process.
    Callers only read it."""
    return resolve_run(SETTINGS, protocol, run, method)


def run_config(wildcards):
    return resolved_run(wildcards.protocol, wildcards.run, wildcards.method)


def run_hash(wildcards):
    return config_hash(run_config(wildcards))


def write_run_config(path, log, wildcards):
    """Write a run's configuration into its run folder, which starts over.

    This job runs only when the run's resolved configuration (its hash is a param) or its
    data changed, so the checkpoints and logs of an earlier run in the folder are stale:
    they are removed, and `bau train` starts from scratch instead of refusing to resume a
    run of another configuration. An interrupted training, whose configuration did not
    change, keeps its checkpoints and resumes.
    """
    run_dir = Path(path).parent
    removed = []
    for name in ("checkpoints", "final.json", "losses.jsonl", "evals.jsonl", "log.txt"):
        stale = run_dir / name
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
        else:
            continue
        removed.append(name)
    resolved = run_config(wildcards)
    write_yaml(path, resolved)
    note = f"removed the earlier run's {', '.join(removed)}; " if removed else ""
    write_text(log, f"{note}wrote {path} (config hash {config_hash(resolved)})\n")


def write_settings(path, log):
    write_yaml(path, SETTINGS)
    write_text(log, f"wrote {path} (config hash {config_hash(SETTINGS)})\n")


# ---------------------------------------------------------------------- datasets


def folder_of(dataset):
    """The dataset folder a dataset reads (the *dg variants read their base dataset's)."""
    return verify_key(dataset)


def has_splits(dataset):
    """GRID, iLIDS, PRID and VIPeR: test sets in 10 pinned splits (bau.datasets.splits)."""
    return get_parser(dataset).has_splits


# Every dataset folder the configured runs read.
FOLDERS = sorted(
    {
        folder_of(dataset)
        for spec in PROTOCOLS.values()
        for run_spec_ in spec["runs"].values()
        for dataset in run_spec_["sources"] + run_spec_["targets"]
    }
)

# The small datasets that are targets: their splits are pinned before anything uses them.
SPLIT_DATASETS = sorted(
    {
        target
        for spec in PROTOCOLS.values()
        for run_spec_ in spec["runs"].values()
        for target in run_spec_["targets"]
        if has_splits(target)
    }
)


def verify_report(dataset):
    return f"{RESULTS}/verify/{folder_of(dataset)}.json"


def splits_file(dataset):
    return f"{RESULTS}/splits/{dataset}_seed{SETTINGS['split_seed']}.json"


def data_inputs(datasets):
    """The verify reports (the gate) and split files that training or evaluating needs."""
    reports = sorted({verify_report(d) for d in datasets})
    splits = sorted(splits_file(d) for d in set(datasets) if has_splits(d))
    return reports + splits


def run_data(wildcards):
    spec = run_spec(wildcards)
    return data_inputs(spec["sources"] + spec["targets"])


def data_root(wildcards):
    """The data root, as a param function: it is configuration, not a file of the rule."""
    return DATA_ROOT


def synth_marker():
    return f"{DATA_ROOT}/bau_synthetic.json"


# --------------------------------------------------------------------------- paths


def run_dir(protocol, run, method):
    return f"{RESULTS}/runs/{protocol}/{run}/{method}"


def final_file(protocol, run, method):
    return f"{run_dir(protocol, run, method)}/final.json"


def metrics_file(protocol, target, method):
    return f"{RESULTS}/{protocol}/{target}/{method}/metrics.json"


def features_file(protocol, target, method):
    return f"{RESULTS}/{protocol}/{target}/{method}/features.npz"


def evaluated_run(wildcards):
    """final.json of the run that evaluates ``wildcards.target``."""
    run = run_of(wildcards.protocol, wildcards.target)
    return final_file(wildcards.protocol, run, wildcards.method)


def protocol_metrics(protocol):
    return [metrics_file(p, t, m) for p, t, m in EVALUATIONS if p == protocol]


def table_evaluations(table):
    """(protocol, target, method) of every evaluation a table shows, in EVALUATIONS order."""
    spec = TABLES[table]
    return [
        (p, t, m)
        for p, t, m in EVALUATIONS
        if p == spec["protocol"] and m in spec["methods"]
    ]


def table_metrics(wildcards):
    return [metrics_file(*e) for e in table_evaluations(wildcards.table)]


TABLE_FORMATS = ["md", "csv", "tex"]
TABLE_OUTPUTS = [
    f"{RESULTS}/tables/{name}.{fmt}" for name in TABLES for fmt in TABLE_FORMATS
]


def module_file(module):
    """The source file of a bau module, found without importing the module itself.

    Tables and figures declare the code that draws them as input, so editing that code
    reruns only them (Snakemake sees a rule's shell command change, not the package's).
    """
    return importlib.util.find_spec(module).origin


TABLE_CODE = [
    module_file(f"bau.report.{m}")
    for m in ("tables", "table_formats", "labels", "reported")
]


# ------------------------------------------------------------------- GPU resource


def limit_gpus_to_machine():
    """Cap the `gpu` resource at the GPUs of this machine when the user did not set it.

    `--resources gpu=N` is what makes Snakemake run no more GPU jobs at once than there are
    GPUs; without it the resource is unlimited. A static profile cannot know the machine, so
    for local execution with GPU runs configured the cap defaults to the number of GPUs this
    machine has (0 without CUDA, so a bare run never oversubscribes; each training job also
    leases its device ids, bau.distributed.lease). Cluster executors (SLURM; Snakemake then
    has a job limit, `nodes`, and submits jobs elsewhere) are left alone: there the scheduler
    assigns each job its GPUs.
    """
    if (
        RESOURCES["gpus_per_run"] == 0
        or "gpu" in workflow.global_resources
        or workflow.nodes is not None
        or not workflow.is_main_process
    ):
        return
    from bau.distributed.lease import visible_device_count

    available = visible_device_count()
    workflow.global_resources["gpu"] = available
    if available < RESOURCES["gpus_per_run"]:
        logger.warning(
            f"resources.gpus_per_run is {RESOURCES['gpus_per_run']} but this machine has "
            f"{available} GPU(s): training jobs would fail to lease them. Run where the GPUs "
            "are, or set resources.gpus_per_run: 0 to train on CPU."
        )


# ------------------------------------------------------------------------- figures


def table_targets(table):
    """The targets of a table's protocol, in configuration order."""
    protocol = TABLES[table]["protocol"]
    return [
        t
        for run_spec_ in PROTOCOLS[protocol]["runs"].values()
        for t in run_spec_["targets"]
    ]


def tables_of_kind(kind):
    return [
        name for name, table in TABLES.items() if table.get("kind", "protocol") == kind
    ]


# Tables of the protocols themselves (not ablations): what the t-SNE maps and ranked lists show.
PROTOCOL_TABLES = tables_of_kind("protocol")

FIGURE_DIR = f"{RESULTS}/figures"

# kind -> the PNG files of that kind (each with its PDF beside it).
FIGURE_FILES = {
    # One figure per training run (protocol / run), its methods overlaid.
    "loss_curves": [
        f"{FIGURE_DIR}/loss_curves/{p}/{r}.png"
        for p in PROTOCOLS
        for r in PROTOCOLS[p]["runs"]
    ],
    # One figure per table: a panel per target, the table's methods overlaid.
    "cmc": [f"{FIGURE_DIR}/cmc/{t}.png" for t in TABLES],
    "align_uniform": [f"{FIGURE_DIR}/align_uniform/{t}.png" for t in TABLES],
    # Per protocol table and target: a few queries and their ranked lists, one row per method.
    "retrieval": [
        f"{FIGURE_DIR}/retrieval/{t}/{target}.png"
        for t in PROTOCOL_TABLES
        for target in table_targets(t)
    ],
    # Per protocol table, the first run of its protocol, one map per method of the table.
    "tsne": [
        f"{FIGURE_DIR}/tsne/{p}/{r}/{m}.png"
        for p, r, m in dict.fromkeys(
            (
                TABLES[t]["protocol"],
                next(iter(PROTOCOLS[TABLES[t]["protocol"]]["runs"])),
                m,
            )
            for t in PROTOCOL_TABLES
            for m in TABLES[t]["methods"]
        )
    ],
}

FIGURE_OUTPUTS = [
    path.removesuffix(".png") + suffix
    for kind in FIGURES
    for path in FIGURE_FILES[kind]
    for suffix in (".png", ".pdf")
]

FIGURE_CODE = [
    module_file(f"bau.report.{m}")
    for m in (
        "figures",
        "curves",
        "embedding_metrics",
        "embedding_plots",
        "retrieval",
        "inputs",
        "labels",
        "plotting",
    )
]


def run_losses(wildcards):
    """losses.jsonl of each method's run (read through params: final.json is the input)."""
    return [
        f"{run_dir(wildcards.protocol, wildcards.run, m)}/losses.jsonl"
        for m in methods_of(wildcards.protocol)
    ]


def run_finals(wildcards):
    return [
        final_file(wildcards.protocol, wildcards.run, m)
        for m in methods_of(wildcards.protocol)
    ]


def table_features(wildcards):
    return [features_file(*e) for e in table_evaluations(wildcards.table)]


def target_features(wildcards):
    protocol = TABLES[wildcards.table]["protocol"]
    return [
        features_file(protocol, wildcards.target, m)
        for m in TABLES[wildcards.table]["methods"]
    ]


# ------------------------------------------------------------- t-SNE of the domains


def source_features_file(protocol, run, method, source):
    return f"{run_dir(protocol, run, method)}/features/{source}.npz"


def source_image_dir(wildcards):
    """A source's training images: the first image folder of its layout (for CUHK02, the
    first view of camera pair P1), a sample of the domain for the t-SNE map."""
    return f"{DATA_ROOT}/{get_parser(wildcards.source).layout.image_dirs[0]}"


def selected_checkpoint(wildcards, input):
    """The checkpoint the config's `selection` names for the run's first target.

    Read from final.json when the job runs; in a dry run the file may not exist yet and
    Snakemake defers the value (FileNotFoundError of an input).
    """
    read_json(input.final)
    target = run_spec(wildcards)["targets"][0]
    path, _ = resolve_checkpoint(
        Path(input.final).parent, SETTINGS["selection"], target
    )
    return str(path)


def tsne_features(wildcards):
    """Features of each source domain (extracted) and of each target (evaluated)."""
    spec = run_spec(wildcards)
    p, r, m = wildcards.protocol, wildcards.run, wildcards.method
    return [source_features_file(p, r, m, s) for s in spec["sources"]] + [
        features_file(p, t, m) for t in spec["targets"]
    ]


def tsne_labels(wildcards):
    spec = run_spec(wildcards)
    return [dataset_label(d) for d in spec["sources"] + spec["targets"]]


def tsne_targets(wildcards):
    return [dataset_label(d) for d in run_spec(wildcards)["targets"]]


# ------------------------------------------------------------------ evaluation


def eval_options(wildcards):
    """`bau evaluate` options from the evaluated run's `eval` settings."""
    run = run_of(wildcards.protocol, wildcards.target)
    resolved = resolved_run(wildcards.protocol, run, wildcards.method)
    settings, workers = resolved["eval"], resolved["data"]["workers"]
    options = [
        f"--batch-size {settings['batch_size']}",
        f"--max-rank {settings['max_rank']}",
        f"--workers {workers}",
    ]
    flags = {
        "flip": "--flip",
        "rerank": "--rerank",
        "amp": "--amp",
        "viper_both_directions": "--viper-both-directions",
    }
    return " ".join(options + [flag for key, flag in flags.items() if settings[key]])


# Evaluation and feature extraction run where training does: on CPU for a CPU configuration
# (also on a machine with GPUs), else on a GPU, counted in the `gpu` resource.
EVAL_DEVICE = "auto" if RESOURCES["gpus_per_run"] > 0 else "cpu"
EVAL_GPUS = min(1, RESOURCES["gpus_per_run"])


def tsne_title(wildcards):
    protocol = protocol_label(wildcards.protocol)
    method = method_label(wildcards.method)
    return f"t-SNE of source and target features\n{protocol}, run {wildcards.run}, {method}"


def align_uniform_title(wildcards):
    protocol = protocol_label(TABLES[wildcards.table]["protocol"])
    return f"Alignment and uniformity of the target features\n{protocol}, table {wildcards.table}"
