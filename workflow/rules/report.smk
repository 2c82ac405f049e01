# Tables and figures, each flagged for `snakemake --report` with its caption
# (report/*.rst). Each rule declares the bau.report modules that draw its output as inputs:
# editing table code reruns the tables only, editing figure code the figures only.


# The effective workflow configuration (config files and --config merged, defaults filled):
# what `bau table` reads. Rewritten only when the configuration changes.
rule settings:
    output:
        config=f"{RESULTS}/config.yaml",
    log:
        f"{RESULTS}/logs/settings.log",
    benchmark:
        f"{RESULTS}/benchmarks/settings.tsv"
    params:
        config_hash=config_hash(SETTINGS),
    run:
        write_settings(output.config, log[0])


# One rule per kind of table (protocol, ablation): the same call, each with its caption.
for table_kind in ("protocol", "ablation"):

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
                f"{RESULTS}/tables/{{table}}.md",
                caption=f"../report/table_{table_kind}.rst",
                category="Tables",
                labels={"table": "{table}", "format": "Markdown"},
            ),
            csv=report(
                f"{RESULTS}/tables/{{table}}.csv",
                caption=f"../report/table_{table_kind}.rst",
                category="Tables",
                labels={"table": "{table}", "format": "CSV"},
            ),
            latex=f"{RESULTS}/tables/{{table}}.tex",
        log:
            f"{RESULTS}/logs/table/{{table}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/table/{{table}}.tsv"
        wildcard_constraints:
            table=alternatives(tables_of_kind(table_kind)),
        conda:
            "../envs/bau.yaml"
        params:
            out_dir=lambda w, output: os.path.dirname(output.markdown),
        shell:
            "bau table {wildcards.table} --config {input.config} --reported {input.reported}"
            " --out-dir {params.out_dir} > {log} 2>&1"


rule figure_loss_curves:
    input:
        finals=run_finals,
        code=FIGURE_CODE,
    output:
        png=report(
            f"{FIGURE_DIR}/loss_curves/{{protocol}}/{{run}}.png",
            caption="../report/loss_curves.rst",
            category="Figures",
            subcategory="Training losses",
            labels={"protocol": "{protocol}", "run": "{run}"},
        ),
        pdf=f"{FIGURE_DIR}/loss_curves/{{protocol}}/{{run}}.pdf",
    log:
        f"{RESULTS}/logs/figure/loss_curves/{{protocol}}/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure/loss_curves/{{protocol}}/{{run}}.tsv"
    conda:
        "../envs/bau.yaml"
    params:
        losses=run_losses,
    shell:
        "bau figure loss_curves --inputs {params.losses} --out {output.png} > {log} 2>&1"


rule figure_cmc:
    input:
        metrics=table_metrics,
        code=FIGURE_CODE,
    output:
        png=report(
            f"{FIGURE_DIR}/cmc/{{table}}.png",
            caption="../report/cmc.rst",
            category="Figures",
            subcategory="CMC curves",
            labels={"table": "{table}"},
        ),
        pdf=f"{FIGURE_DIR}/cmc/{{table}}.pdf",
    log:
        f"{RESULTS}/logs/figure/cmc/{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure/cmc/{{table}}.tsv"
    conda:
        "../envs/bau.yaml"
    shell:
        "bau figure cmc --inputs {input.metrics} --out {output.png} > {log} 2>&1"


rule figure_align_uniform:
    input:
        features=table_features,
        code=FIGURE_CODE,
    output:
        png=report(
            f"{FIGURE_DIR}/align_uniform/{{table}}.png",
            caption="../report/align_uniform.rst",
            category="Figures",
            subcategory="Alignment and uniformity",
            labels={"table": "{table}"},
        ),
        pdf=f"{FIGURE_DIR}/align_uniform/{{table}}.pdf",
    log:
        f"{RESULTS}/logs/figure/align_uniform/{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure/align_uniform/{{table}}.tsv"
    conda:
        "../envs/bau.yaml"
    params:
        title=align_uniform_title,
    shell:
        "bau figure align_uniform --inputs {input.features} --title {params.title:q}"
        " --out {output.png} > {log} 2>&1"


rule figure_retrieval:
    input:
        features=target_features,
        code=FIGURE_CODE,
    output:
        png=report(
            f"{FIGURE_DIR}/retrieval/{{table}}/{{target}}.png",
            caption="../report/retrieval.rst",
            category="Figures",
            subcategory="Ranked retrieval lists",
            labels={"table": "{table}", "target": "{target}"},
        ),
        pdf=f"{FIGURE_DIR}/retrieval/{{table}}/{{target}}.pdf",
    log:
        f"{RESULTS}/logs/figure/retrieval/{{table}}/{{target}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure/retrieval/{{table}}/{{target}}.tsv"
    conda:
        "../envs/bau.yaml"
    params:
        root=data_root,
    shell:
        "bau figure retrieval --inputs {input.features} --data-root {params.root}"
        " --out {output.png} > {log} 2>&1"


# Features of one source domain's training images from a trained model, for the t-SNE map.
rule source_features:
    input:
        final=f"{RESULTS}/runs/{{protocol}}/{{run}}/{{method}}/final.json",
        data=lambda w: data_inputs([w.source]),
    output:
        features=f"{RESULTS}/runs/{{protocol}}/{{run}}/{{method}}/features/{{source}}.npz",
    log:
        f"{RESULTS}/logs/source_features/{{protocol}}/{{run}}/{{method}}/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/source_features/{{protocol}}/{{run}}/{{method}}/{{source}}.tsv"
    conda:
        "../envs/bau.yaml"
    threads: RESOURCES["threads_per_run"]
    resources:
        gpu=EVAL_GPUS,
        mem_mb=RESOURCES["mem_mb_per_run"],
    params:
        image_dir=source_image_dir,
        checkpoint_file=selected_checkpoint,
        device=EVAL_DEVICE,
    shell:
        "bau extract {params.image_dir} --checkpoint {params.checkpoint_file} --out {output.features}"
        " --device {params.device} > {log} 2>&1"


rule figure_tsne:
    input:
        features=tsne_features,
        code=FIGURE_CODE,
    output:
        png=report(
            f"{FIGURE_DIR}/tsne/{{protocol}}/{{run}}/{{method}}.png",
            caption="../report/tsne.rst",
            category="Figures",
            subcategory="t-SNE of the domains",
            labels={"protocol": "{protocol}", "run": "{run}", "method": "{method}"},
        ),
        pdf=f"{FIGURE_DIR}/tsne/{{protocol}}/{{run}}/{{method}}.pdf",
    log:
        f"{RESULTS}/logs/figure/tsne/{{protocol}}/{{run}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure/tsne/{{protocol}}/{{run}}/{{method}}.tsv"
    conda:
        "../envs/bau.yaml"
    params:
        labels=tsne_labels,
        targets=tsne_targets,
        title=tsne_title,
    shell:
        "bau figure tsne --inputs {input.features} --labels {params.labels:q}"
        " --targets {params.targets:q} --title {params.title:q} --out {output.png} > {log} 2>&1"
