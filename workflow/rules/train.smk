# Training and evaluation: one run per protocol / run / method / seed, evaluated per target.


# The resolved configuration of one run, in its run folder. Its hash is a param, so editing
# what a run's configuration is made of (one protocol's iterations, a method's switches, the
# shared training settings) rewrites exactly the configurations that changed, and only those
# runs retrain; the data reports are inputs, so changed data retrains too. A new
# configuration starts the run folder over (bau.config.write_run_config, also
# `bau config FILE --resolve P/R/M/SEED --out FILE`). A Python step: with the profile's
# force-use-threads it runs inside Snakemake instead of a new Snakemake process per job.
rule run_config:
    input:
        data=run_data,
    output:
        config=LAYOUT.run_config(RUN),
    log:
        LAYOUT.log("run_config", *RUN_PARTS),
    benchmark:
        LAYOUT.benchmark("run_config", *RUN_PARTS)
    wildcard_constraints:
        seed=TRAINING_SEEDS,
    params:
        config_hash=run_hash,
    run:
        write_run_config(output.config, log[0], wildcards)


# final.json is written last by the trainer: a killed or failed job leaves no final.json,
# and its checkpoints let the next invocation resume.
rule train:
    input:
        config=rules.run_config.output.config,
    output:
        final=LAYOUT.final(RUN),
    log:
        LAYOUT.log("train", *RUN_PARTS),
    benchmark:
        LAYOUT.benchmark("train", *RUN_PARTS)
    wildcard_constraints:
        seed=TRAINING_SEEDS,
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=RESOURCES["gpus_per_run"],
        mem_mb=RESOURCES["mem_mb_per_run"],
        runtime=RESOURCES["runtime_min_per_run"],
    params:
        run_dir=lambda w, output: os.path.dirname(output.final),
        config_hash=run_hash,
    shell:
        "bau train --config {input.config:q} --out {params.run_dir:q} > {log:q} 2>&1"


# One target of one protocol and method, from the run that has it as a target; the
# checkpoint is the config's `selection` (best_of_eval picks per target from the run's
# evaluations). How it evaluates (batch size, flip, re-ranking, max rank, precision) is the
# run's own `eval` section, which `bau evaluate --run` reads from the checkpoint's config.
# Small datasets are evaluated on each of their splits inside the job.
rule evaluate:
    input:
        final=evaluated_run,
        data=target_data,
    output:
        metrics=LAYOUT.metrics(EVAL),
        features=LAYOUT.features(EVAL),
    log:
        LAYOUT.log("evaluate", *EVAL_PARTS),
    benchmark:
        LAYOUT.benchmark("evaluate", *EVAL_PARTS)
    wildcard_constraints:
        seed=TRAINING_SEEDS,
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=PLAN.eval_gpus,
        mem_mb=RESOURCES["mem_mb_per_run"],
    params:
        run_dir=evaluated_run_dir,
        selection=SETTINGS["selection"],
        root=data_root,
        splits_dir=LAYOUT.splits_dir(),
        split_seed=SETTINGS["split_seed"],
        device=PLAN.eval_device,
    shell:
        "bau evaluate --run {params.run_dir:q} --selection {params.selection:q}"
        " --dataset {wildcards.target:q} --data-root {params.root:q}"
        " --splits-dir {params.splits_dir:q} --split-seed {params.split_seed:q}"
        " --out {output.metrics:q} --save-features {output.features:q}"
        " --device {params.device:q} > {log:q} 2>&1"
