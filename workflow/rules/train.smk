# Training and evaluation: one run per protocol / run / method, evaluated per target.


# The resolved configuration of one run, in its run folder. Its hash is a param, so editing
# what a run's configuration is made of (one protocol's iterations, a method's switches, the
# shared training settings) rewrites exactly the configurations that changed, and only
# those runs retrain; the data reports are inputs, so changed data retrains too.
rule run_config:
    input:
        data=run_data,
    output:
        config=f"{RESULTS}/runs/{{protocol}}/{{run}}/{{method}}/config.yaml",
    log:
        f"{RESULTS}/logs/run_config/{{protocol}}/{{run}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/run_config/{{protocol}}/{{run}}/{{method}}.tsv"
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
        final=f"{RESULTS}/runs/{{protocol}}/{{run}}/{{method}}/final.json",
    log:
        f"{RESULTS}/logs/train/{{protocol}}/{{run}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{protocol}}/{{run}}/{{method}}.tsv"
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=RESOURCES["gpus_per_run"],
        mem_mb=RESOURCES["mem_mb_per_run"],
        runtime=RESOURCES["runtime_min_per_run"],
    params:
        run_dir=lambda w: run_dir(w.protocol, w.run, w.method),
        config_hash=run_hash,
    shell:
        "bau train --config {input.config} --out {params.run_dir} > {log} 2>&1"


# One target of one protocol and method, from the run that has it as a target; the
# checkpoint is the config's `selection` (best_of_eval picks per target from the run's
# evaluations). Small datasets are evaluated on each of their splits inside the job.
rule evaluate:
    input:
        final=evaluated_run,
        data=lambda w: data_inputs([w.target]),
    output:
        metrics=f"{RESULTS}/{{protocol}}/{{target}}/{{method}}/metrics.json",
        features=f"{RESULTS}/{{protocol}}/{{target}}/{{method}}/features.npz",
    log:
        f"{RESULTS}/logs/evaluate/{{protocol}}/{{target}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{protocol}}/{{target}}/{{method}}.tsv"
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=EVAL_GPUS,
        mem_mb=RESOURCES["mem_mb_per_run"],
    params:
        run_dir=lambda w, input: str(Path(input.final).parent),
        selection=SETTINGS["selection"],
        root=data_root,
        splits_dir=f"{RESULTS}/splits",
        split_seed=SETTINGS["split_seed"],
        device=EVAL_DEVICE,
        options=eval_options,
    shell:
        "bau evaluate --run {params.run_dir} --selection {params.selection}"
        " --dataset {wildcards.target} --data-root {params.root}"
        " --splits-dir {params.splits_dir} --split-seed {params.split_seed}"
        " --out {output.metrics} --save-features {output.features}"
        " --device {params.device} {params.options} > {log} 2>&1"
