# Tables and figures, each flagged for `snakemake --report` with its caption
# (report/*.rst). Each rule declares the bau.report modules that draw its output as inputs:
# editing table code reruns the tables only, editing figure code the figures only.


# The effective workflow configuration (config files and --config merged, defaults filled):
# what `bau table` reads. Rewritten only when the configuration changes.
rule settings:
    output:
        config=LAYOUT.settings(),
    log:
        LAYOUT.log("settings"),
    benchmark:
        LAYOUT.benchmark("settings")
    params:
        config_hash=PLAN.settings_hash(),
    run:
        write_settings(output.config, log[0])


# One rule per kind of table (protocol, ablation): the same call, each with its caption.
for table_kind in TABLE_KINDS:

    rule:
        name:
            f"table_{table_kind}"
        input:
            metrics=table_metrics,
            config=rules.settings.output.config,
            reported="config/reported.csv",
            code=TABLE_CODE,
        output:
            markdown=report(
                LAYOUT.table("{table}", "md"),
                caption=f"../report/table_{table_kind}.rst",
                category="Tables",
                labels={"table": "{table}", "format": "Markdown"},
            ),
            csv=report(
                LAYOUT.table("{table}", "csv"),
                caption=f"../report/table_{table_kind}.rst",
                category="Tables",
                labels={"table": "{table}", "format": "CSV"},
            ),
            latex=LAYOUT.table("{table}", "tex"),
        log:
            LAYOUT.log("table", "{table}"),
        benchmark:
            LAYOUT.benchmark("table", "{table}")
        wildcard_constraints:
            table=alternatives(PLAN.tables_of_kind(table_kind)),
        conda:
            "../envs/bau.yaml"
        params:
            out_dir=lambda w, output: os.path.dirname(output.markdown),
        shell:
            "bau table {wildcards.table:q} --config {input.config:q} --reported {input.reported:q}"
            " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule figure_loss_curves:
    input:
        finals=run_finals,
        code=FIGURE_CODE,
    output:
        png=report(
            LAYOUT.figure("loss_curves", "{protocol}", "{run}"),
            caption="../report/loss_curves.rst",
            category="Figures",
            subcategory="Training losses",
            labels={"protocol": "{protocol}", "run": "{run}"},
        ),
        pdf=LAYOUT.figure("loss_curves", "{protocol}", "{run}", fmt="pdf"),
    log:
        LAYOUT.log("figure", "loss_curves", "{protocol}", "{run}"),
    benchmark:
        LAYOUT.benchmark("figure", "loss_curves", "{protocol}", "{run}")
    conda:
        "../envs/bau.yaml"
    params:
        losses=run_losses,
    shell:
        "bau figure loss_curves --inputs {params.losses:q} --out {output.png:q} > {log:q} 2>&1"


rule figure_cmc:
    input:
        metrics=first_seed_metrics,
        code=FIGURE_CODE,
    output:
        png=report(
            LAYOUT.figure("cmc", "{table}"),
            caption="../report/cmc.rst",
            category="Figures",
            subcategory="CMC curves",
            labels={"table": "{table}"},
        ),
        pdf=LAYOUT.figure("cmc", "{table}", fmt="pdf"),
    log:
        LAYOUT.log("figure", "cmc", "{table}"),
    benchmark:
        LAYOUT.benchmark("figure", "cmc", "{table}")
    conda:
        "../envs/bau.yaml"
    params:
        title=cmc_title,
    shell:
        "bau figure cmc --inputs {input.metrics:q} --title {params.title:q} --out {output.png:q} > {log:q} 2>&1"


rule figure_align_uniform:
    input:
        features=table_features,
        code=FIGURE_CODE,
    output:
        png=report(
            LAYOUT.figure("align_uniform", "{table}"),
            caption="../report/align_uniform.rst",
            category="Figures",
            subcategory="Alignment and uniformity",
            labels={"table": "{table}"},
        ),
        pdf=LAYOUT.figure("align_uniform", "{table}", fmt="pdf"),
    log:
        LAYOUT.log("figure", "align_uniform", "{table}"),
    benchmark:
        LAYOUT.benchmark("figure", "align_uniform", "{table}")
    conda:
        "../envs/bau.yaml"
    params:
        title=align_uniform_title,
    shell:
        "bau figure align_uniform --inputs {input.features:q} --title {params.title:q}"
        " --out {output.png:q} > {log:q} 2>&1"


rule figure_retrieval:
    input:
        features=target_features,
        code=FIGURE_CODE,
    output:
        png=report(
            LAYOUT.figure("retrieval", "{table}", "{target}"),
            caption="../report/retrieval.rst",
            category="Figures",
            subcategory="Ranked retrieval lists",
            labels={"table": "{table}", "target": "{target}"},
        ),
        pdf=LAYOUT.figure("retrieval", "{table}", "{target}", fmt="pdf"),
    log:
        LAYOUT.log("figure", "retrieval", "{table}", "{target}"),
    benchmark:
        LAYOUT.benchmark("figure", "retrieval", "{table}", "{target}")
    conda:
        "../envs/bau.yaml"
    params:
        root=data_root,
    shell:
        "bau figure retrieval --inputs {input.features:q} --data-root {params.root:q}"
        " --out {output.png:q} > {log:q} 2>&1"


# Features of one source domain's training images from a trained model, for the t-SNE map.
rule source_features:
    input:
        final=LAYOUT.final(RUN),
        data=source_data,
    output:
        features=LAYOUT.source_features(RUN, "{source}"),
    log:
        LAYOUT.log("source_features", *RUN_PARTS, "{source}"),
    benchmark:
        LAYOUT.benchmark("source_features", *RUN_PARTS, "{source}")
    wildcard_constraints:
        seed=TRAINING_SEEDS,
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=PLAN.eval_gpus,
        mem_mb=RESOURCES["mem_mb_per_run"],
    params:
        image_dir=source_image_dir,
        checkpoint_file=selected_checkpoint,
        device=PLAN.eval_device,
    shell:
        "bau extract {params.image_dir:q} --checkpoint {params.checkpoint_file:q} --out {output.features:q}"
        " --device {params.device:q} > {log:q} 2>&1"


rule figure_tsne:
    input:
        features=tsne_features,
        code=FIGURE_CODE,
    output:
        png=report(
            LAYOUT.figure("tsne", *TSNE),
            caption="../report/tsne.rst",
            category="Figures",
            subcategory="t-SNE of the domains",
            labels={"protocol": "{protocol}", "run": "{run}", "method": "{method}"},
        ),
        pdf=LAYOUT.figure("tsne", *TSNE, fmt="pdf"),
    log:
        LAYOUT.log("figure", "tsne", *TSNE),
    benchmark:
        LAYOUT.benchmark("figure", "tsne", *TSNE)
    conda:
        "../envs/bau.yaml"
    params:
        labels=tsne_labels,
        targets=tsne_targets,
        title=tsne_title,
    shell:
        "bau figure tsne --inputs {input.features:q} --labels {params.labels:q}"
        " --targets {params.targets:q} --title {params.title:q} --out {output.png:q} > {log:q} 2>&1"


# The analysis figures of the sweeps (config `analyses`): one rule per kind (mAP against the
# swept value, alignment/uniformity against it, t-SNE of the source domains per value).
for analysis_kind in ANALYSIS_KINDS:

    rule:
        name:
            f"figure_sweep_{analysis_kind}"
        input:
            files=analysis_inputs,
            code=ANALYSIS_CODE,
        output:
            png=report(
                LAYOUT.figure(ANALYSES_DIR, "{analysis}"),
                caption=f"../report/sweep_{analysis_kind}.rst",
                category="Analyses",
                labels={"analysis": "{analysis}"},
            ),
            pdf=LAYOUT.figure(ANALYSES_DIR, "{analysis}", fmt="pdf"),
        log:
            LAYOUT.log("figure", ANALYSES_DIR, "{analysis}"),
        benchmark:
            LAYOUT.benchmark("figure", ANALYSES_DIR, "{analysis}")
        wildcard_constraints:
            analysis=alternatives(PLAN.analyses_of_kind(analysis_kind)),
        conda:
            "../envs/bau.yaml"
        params:
            # the kind is bound here: a shell command is formatted when the job runs, after the loop
            kind=f"sweep_{analysis_kind}",
            points=analysis_points,
            title=analysis_title,
        shell:
            "bau figure {params.kind} --inputs {input.files:q} --points {params.points:q}"
            " --title {params.title:q} --out {output.png:q} > {log:q} 2>&1"
