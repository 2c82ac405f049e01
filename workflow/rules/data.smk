# The data: the synthetic benchmark (when configured), one verify report per dataset folder
# the runs read (the gate of everything downstream; each dataset name, a *dg variant too, gets
# its own checks in it) and the pinned splits of the small target datasets.

if SYNTHETIC:

    rule synth:
        output:
            marker=synthetic_marker(DATA_ROOT),
        log:
            LAYOUT.log("synth"),
        benchmark:
            LAYOUT.benchmark("synth")
        conda:
            "../envs/bau.yaml"
        threads: workflow.cores
        params:
            root=data_root,
            scale=SETTINGS["data"]["synth_scale"],
            seed=SETTINGS["data"]["synth_seed"],
        shell:
            "bau synth --out {params.root:q} --scale {params.scale:q} --seed {params.seed:q}"
            " --workers {threads} > {log:q} 2>&1"


rule verify:
    input:
        marker=synthetic_marker(DATA_ROOT) if SYNTHETIC else [],
    output:
        report=LAYOUT.verify_report("{folder}"),
    log:
        LAYOUT.log("verify", "{folder}"),
    benchmark:
        LAYOUT.benchmark("verify", "{folder}")
    conda:
        "../envs/bau.yaml"
    threads: 4  # decoding every image of a real dataset takes a while
    params:
        datasets=lambda w: PLAN.verify_groups[w.folder],
        root=data_root,
    shell:
        "bau verify {params.datasets:q} --data-root {params.root:q} --out {output.report:q}"
        " --workers {threads} > {log:q} 2>&1"


rule splits:
    input:
        report=lambda w: PLAN.verify_report(w.dataset),
    output:
        splits=LAYOUT.splits("{dataset}", "{seed}"),
    log:
        LAYOUT.log("splits", split_name("{dataset}", "{seed}")),
    benchmark:
        LAYOUT.benchmark("splits", split_name("{dataset}", "{seed}"))
    wildcard_constraints:
        dataset=alternatives(PLAN.split_datasets),
    conda:
        "../envs/bau.yaml"
    params:
        root=data_root,
        out_dir=lambda w, output: os.path.dirname(output.splits),
    shell:
        "bau splits {wildcards.dataset:q} --data-root {params.root:q} --seed {wildcards.seed:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"
