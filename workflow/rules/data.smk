# The data: the synthetic benchmark (when configured), one verify report per dataset folder
# (the gate of everything downstream) and the pinned splits of the small target datasets.

if SYNTHETIC:

    rule synth:
        output:
            marker=synth_marker(),
        log:
            f"{RESULTS}/logs/synth.log",
        benchmark:
            f"{RESULTS}/benchmarks/synth.tsv"
        conda:
            "../envs/bau.yaml"
        threads: workflow.cores
        params:
            root=lambda w, output: os.path.dirname(output.marker),
            scale=SETTINGS["data"]["synth_scale"],
            seed=SETTINGS["data"]["synth_seed"],
        shell:
            "bau synth --out {params.root} --scale {params.scale} --seed {params.seed}"
            " --workers {threads} > {log} 2>&1"


rule verify:
    input:
        marker=synth_marker() if SYNTHETIC else [],
    output:
        report=f"{RESULTS}/verify/{{folder}}.json",
    log:
        f"{RESULTS}/logs/verify/{{folder}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/verify/{{folder}}.tsv"
    conda:
        "../envs/bau.yaml"
    threads: 4  # decoding every image of a real dataset takes a while
    params:
        root=data_root,
    shell:
        "bau verify {wildcards.folder} --data-root {params.root} --out {output.report}"
        " --workers {threads} > {log} 2>&1"


rule splits:
    input:
        report=lambda w: verify_report(w.dataset),
    output:
        splits=f"{RESULTS}/splits/{{dataset}}_seed{{seed}}.json",
    log:
        f"{RESULTS}/logs/splits/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/splits/{{dataset}}_seed{{seed}}.tsv"
    conda:
        "../envs/bau.yaml"
    params:
        root=data_root,
        out_dir=lambda w, output: os.path.dirname(output.splits),
    shell:
        "bau splits {wildcards.dataset} --data-root {params.root} --seed {wildcards.seed}"
        " --out-dir {params.out_dir} > {log} 2>&1"
