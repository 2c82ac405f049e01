# Input functions and path patterns of the workflow. What it asks for (runs, evaluations,
# tables, figures, the checks of the configuration) is decided by bau.plan; every path
# comes from bau.layout. The rules live in the other files (snakemake --lint wants
# functions and rules apart).

import os
import sys
from pathlib import Path

from snakemake.logging import logger

import bau.config
from bau.io import write_text
from bau.layout import (
    EvalKey,
    RunKey,
    alternatives,
    folders,
    key_of,
    pattern,
    split_name,
    synthetic_marker,
)
from bau.plan import (
    ANALYSES_DIR,
    ANALYSIS_KINDS,
    ANALYSIS_MODULES,
    FIGURE_MODULES,
    TABLE_KINDS,
    TABLE_MODULES,
    Plan,
    module_files,
)

# `bau` of the Python that runs Snakemake also when its environment is not activated
# (`.venv/bin/snakemake ...`); an environment activated by --sdm conda still comes first.
os.environ.update(
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


def config_source():
    """Where the configuration comes from, for error messages."""
    files = [str(f) for f in workflow.overwrite_configfiles] or ["config/config.yaml"]
    return "the configuration (" + " + ".join(files) + ", with any --config)"


# Validated against workflow/schemas/config.schema.yaml, defaults filled and cross-checked:
# errors list every bad key with what is allowed, before any job runs.
PLAN = Plan(config, source=config_source())
SETTINGS = PLAN.settings
LAYOUT = PLAN.layout
RESOURCES = PLAN.resources
DATA_ROOT = SETTINGS["data"]["root"]
SYNTHETIC = SETTINGS["data"]["synthetic"]

# Path patterns: the layout's paths of a run or an evaluation with wildcards as fields;
# RUN_PARTS and EVAL_PARTS name their logs and benchmarks (the seed as seed{seed}).
RUN = pattern(RunKey)
EVAL = pattern(EvalKey)
RUN_PARTS = folders(RUN)
EVAL_PARTS = folders(EVAL)
# The `seed` wildcard of a run or an evaluation: one of the configured training seeds.
TRAINING_SEEDS = alternatives(PLAN.all_seeds)
# The t-SNE figure of a protocol / run / method shows the first seed's run (Plan.tsne_run).
TSNE = ("{protocol}", "{run}", "{method}")

TABLE_CODE = module_files(TABLE_MODULES)
FIGURE_CODE = module_files(FIGURE_MODULES)
ANALYSIS_CODE = module_files(ANALYSIS_MODULES)


def run_of(wildcards):
    return key_of(RunKey, wildcards)


def evaluation_of(wildcards):
    return key_of(EvalKey, wildcards)


# Called by the two Python rules, whose text (what Snakemake's code trigger compares) is
# kept as it was, so that run folders written by earlier versions are not started over.
def write_run_config(path, log, wildcards):
    note = bau.config.write_run_config(path, PLAN.resolved_run(run_of(wildcards)))
    write_text(log, note + "\n")


def write_settings(path, log):
    PLAN.write_settings(path, log)


def limit_gpus_to_machine():
    """Cap the `gpu` resource at this machine's GPUs when the user did not set it
    (bau.plan.Plan.gpu_limit). Cluster executors (SLURM: Snakemake then has a job limit,
    `nodes`) are left alone: there the scheduler assigns each job its GPUs."""
    if (
        RESOURCES["gpus_per_run"] == 0
        or "gpu" in workflow.global_resources
        or workflow.nodes is not None
        or not workflow.is_main_process
    ):
        return
    from bau.distributed.lease import visible_device_count

    limit, warning = PLAN.gpu_limit(visible_device_count())
    workflow.global_resources["gpu"] = limit
    if warning:
        logger.warning(warning)


# ------------------------------------------------------------------- input functions


def data_root(wildcards):
    """The data root, as a param function: it is configuration, not a file of the rule."""
    return DATA_ROOT


def run_data(wildcards):
    return PLAN.run_data(run_of(wildcards))


def run_hash(wildcards):
    return PLAN.run_hash(run_of(wildcards))


def evaluated_run(wildcards):
    """final.json of the run that evaluates the target."""
    return LAYOUT.final(PLAN.run_of(evaluation_of(wildcards)))


def evaluated_run_dir(wildcards):
    return LAYOUT.run_dir(PLAN.run_of(evaluation_of(wildcards)))


def target_data(wildcards):
    return PLAN.data_inputs([wildcards.target])


def source_data(wildcards):
    return PLAN.data_inputs([wildcards.source])


def table_metrics(wildcards):
    """Every seed's metrics of the table's evaluations (the table)."""
    return PLAN.table_metrics(wildcards.table)


def first_seed_metrics(wildcards):
    """The first seed's metrics of the table's evaluations (its CMC figure)."""
    return PLAN.table_metrics(wildcards.table, first_seed=True)


def table_features(wildcards):
    return PLAN.table_features(wildcards.table)


def target_features(wildcards):
    return PLAN.target_features(wildcards.table, wildcards.target)


def run_finals(wildcards):
    return PLAN.run_finals(wildcards.protocol, wildcards.run)


def run_losses(wildcards):
    """losses.jsonl of each method's run (read through params: final.json is the input)."""
    return PLAN.run_losses(wildcards.protocol, wildcards.run)


def source_image_dir(wildcards):
    return PLAN.source_image_dir(wildcards.source)


def selected_checkpoint(wildcards, input):
    """The checkpoint of the config's `selection`; deferred in a dry run (no final.json yet)."""
    return PLAN.selected_checkpoint(run_of(wildcards))


def tsne_run(wildcards):
    return PLAN.tsne_run(wildcards.protocol, wildcards.run, wildcards.method)


def tsne_features(wildcards):
    return PLAN.tsne_features(tsne_run(wildcards))


def tsne_labels(wildcards):
    return PLAN.tsne_labels(tsne_run(wildcards))


def tsne_targets(wildcards):
    return PLAN.tsne_targets(tsne_run(wildcards))


def tsne_title(wildcards):
    return PLAN.tsne_title(tsne_run(wildcards))


def align_uniform_title(wildcards):
    return PLAN.align_uniform_title(wildcards.table)


def cmc_title(wildcards):
    return PLAN.cmc_title(wildcards.table)


def analysis_inputs(wildcards):
    """The metrics, features or source features of an analysis figure's sweep points."""
    return PLAN.analysis_inputs(wildcards.analysis)


def analysis_points(wildcards):
    """What each input is (sweep, value, seed), as JSON for `bau figure sweep_*`."""
    return PLAN.analysis_points(wildcards.analysis)


def analysis_title(wildcards):
    return PLAN.analysis_title(wildcards.analysis)
