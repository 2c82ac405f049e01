"""The `analyses` target (config `sweeps` and `analyses`): the jobs it plans on the default and
the paper configuration, that each sweep value is one run, and that a value equal to a run
the workflow trains anyway is not trained twice."""

from __future__ import annotations

from tests.workflow.helpers import PAPER_CONFIG, dry_run, snakemake_cli


def test_default_analyses(workdir):
    plan = dry_run(workdir, ["analyses"])
    counts = plan.counts
    # 7 sweeps of 3 values (bau_domain: 2) = 20 points; the base run (protocol3 market1501
    # bau, in its own folder though no default table shows Protocol-3) stands for
    # bau_prob=0.5, bau_k=10, bau_lam=1.5 and bau_domain=true: 16 new runs + it
    assert counts["train"] == counts["run_config"] == 17
    assert counts["evaluate"] == 16  # the t-SNE's run without L_domain needs no evaluation
    assert counts["source_features"] == 2 * 3  # two runs x three source domains
    assert (counts["figure_sweep_map"], counts["figure_sweep_align_uniform"], counts["figure_sweep_tsne"]) == (3, 1, 1)
    assert "table_protocol" not in counts and "figure_loss_curves" not in counts
    methods = {(j.wildcards["protocol"], j.wildcards["method"]) for j in plan.of("train")}
    assert ("protocol3", "bau") in methods and ("protocol3", "bau_prob+prob-0.5") not in methods
    assert ("indist", "plain_prob_indist+prob-1.0") in methods
    assert ("indist", "baseline") not in methods  # the analysis-only protocol trains its sweeps only
    outputs = {o for j in plan.of("train") for o in j.output}
    assert "results/runs/protocol3/market1501/bau_k+k-5/seed1/final.json" in outputs


def test_one_analysis_is_its_own_target(workdir):
    plan = dry_run(workdir, ["fig8_sensitivity"])
    assert plan.counts["train"] == 5  # k in {5, 20}, λ in {0.5, 2.5}, and the base run
    assert plan.counts["figure_sweep_map"] == 1


def test_paper_analyses(workdir):
    plan = dry_run(workdir, ["analyses"], configfiles=[PAPER_CONFIG])
    counts = plan.counts
    # 4 sweeps of p (7 values), k and λ (6 each), L_domain (2): 42 points. Reused: bau at
    # p=0.5, k=10, λ=1.5 and with L_domain; no_weighting at p=0.5; align_uniform (bau without
    # L_domain). New: 7 + 7 + 6 + 6 + 5 + 5 = 36 runs, plus the 3 reused ones
    assert counts["train"] == 39
    assert counts["evaluate"] == 38  # not align_uniform's: the t-SNE shows source features
    assert counts["source_features"] == 6
    assert "synth" not in counts


def test_each_analysis_kind_draws_with_its_own_command(workdir):
    """The rules of the kinds are made in a loop: each job's command names its own kind."""
    result = snakemake_cli(
        workdir, "-n", "-p", "--forceall", "fig8_sensitivity", "fig4b_tsne_domain", "fig4a_align_uniform"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    commands = [line.split("bau figure ", 1)[1] for line in result.stdout.splitlines() if "bau figure " in line]
    kinds = {c.split()[0]: c for c in commands}
    assert set(kinds) == {"sweep_map", "sweep_tsne", "sweep_align_uniform"}
    assert "fig8_sensitivity.png" in kinds["sweep_map"] and "fig4b_tsne_domain.png" in kinds["sweep_tsne"]
