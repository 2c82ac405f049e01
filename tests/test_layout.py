"""bau.layout: every result path from one place, Snakemake patterns from the same methods."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bau.datasets import splits
from bau.errors import BauError, TrainingError
from bau.layout import (
    EvalKey,
    Layout,
    RunDir,
    RunKey,
    alternatives,
    folders,
    is_seed_folder,
    key_of,
    metrics_beside,
    pattern,
    seed_label,
    split_file,
    synthetic_marker,
)


def test_paths_of_a_run_and_an_evaluation():
    layout = Layout("out dir")
    run = RunKey("protocol2", "cuhk03", "bau", "3")
    evaluation = EvalKey("protocol2", "cuhk03", "bau", "3")
    assert layout.run_dir(run) == "out dir/runs/protocol2/cuhk03/bau/seed3"
    assert layout.run_config(run) == "out dir/runs/protocol2/cuhk03/bau/seed3/config.yaml"
    assert layout.final(run) == "out dir/runs/protocol2/cuhk03/bau/seed3/final.json"
    assert layout.losses(run) == "out dir/runs/protocol2/cuhk03/bau/seed3/losses.jsonl"
    assert layout.source_features(run, "msmt17") == "out dir/runs/protocol2/cuhk03/bau/seed3/features/msmt17.npz"
    assert layout.metrics(evaluation) == "out dir/protocol2/cuhk03/bau/seed3/metrics.json"
    assert layout.features(evaluation) == "out dir/protocol2/cuhk03/bau/seed3/features.npz"
    assert folders(run) == ("protocol2", "cuhk03", "bau", "seed3")
    assert seed_label(3) == "seed3" and is_seed_folder("seed3") and not is_seed_folder("seeds")
    assert metrics_beside(layout.features(evaluation)) == Path(layout.metrics(evaluation))


def test_paths_of_data_checks_tables_figures_and_logs():
    layout = Layout()
    assert layout.settings() == "results/config.yaml"
    assert layout.verify_report("cuhk03dg") == "results/verify/cuhk03dg.json"
    assert layout.splits("grid", 1) == "results/splits/grid_seed1.json"
    assert split_file(layout.splits_dir(), "grid", 1) == Path(layout.splits("grid", 1))
    assert splits.split_file("grid", 1, layout.splits_dir()) == Path(layout.splits("grid", 1))
    assert layout.table("protocol1", "md") == "results/tables/protocol1.md"
    assert layout.figure("cmc", "protocol1") == "results/figures/cmc/protocol1.png"
    assert layout.figure("tsne", "p", "r", "m", fmt="pdf") == "results/figures/tsne/p/r/m.pdf"
    assert layout.log("synth") == "results/logs/synth.log"
    assert layout.log("figure", "cmc", "t") == "results/logs/figure/cmc/t.log"
    assert layout.benchmark("train", *folders(RunKey("p", "r", "m", "1"))) == "results/benchmarks/train/p/r/m/seed1.tsv"
    assert synthetic_marker("data/synthetic") == "data/synthetic/bau_synthetic.json"


def test_snakemake_patterns_are_the_same_methods_with_wildcards():
    layout = Layout("results")
    run = pattern(RunKey)
    assert run == RunKey("{protocol}", "{run}", "{method}", "{seed}")
    assert layout.final(run) == "results/runs/{protocol}/{run}/{method}/seed{seed}/final.json"
    assert layout.metrics(pattern(EvalKey)) == "results/{protocol}/{target}/{method}/seed{seed}/metrics.json"

    class Wildcards:  # what Snakemake hands an input function
        protocol, target, method, run, seed = "p", "t", "m", "r", "2"

    assert key_of(EvalKey, Wildcards) == EvalKey("p", "t", "m", "2")
    assert key_of(RunKey, Wildcards) == RunKey("p", "r", "m", "2")


def test_the_trainer_uses_the_layout_run_folder(tmp_path):
    run = RunDir(tmp_path)
    assert run.epoch_checkpoint(7) == tmp_path / "checkpoints" / "epoch_007.pth"
    assert run.last_checkpoint == tmp_path / "checkpoints" / "last.pth"
    assert {p.name for p in run.training_outputs()} == {
        "checkpoints",
        "final.json",
        "losses.jsonl",
        "evals.jsonl",
        "log.txt",
        "final_evaluation",
    }
    assert run.final_metrics("grid") == tmp_path / "final_evaluation" / "grid.json"
    assert run.final_features("grid") == tmp_path / "final_evaluation" / "grid.npz"


def test_alternatives_match_exactly_one_name():
    regex = re.compile(f"^(?:{alternatives(['a.b', 'a', 'ab'])})$")
    assert regex.match("a.b") and regex.match("ab") and regex.match("a")
    assert not regex.match("axb")
    assert not re.match(f"^(?:{alternatives([])})$", "")


def _finished_run(root: Path) -> RunDir:
    run = RunDir(root)
    run.checkpoints.mkdir(parents=True)
    for epoch in (2, 3):
        run.epoch_checkpoint(epoch).write_bytes(b"x")
    final = {
        "epochs": 3,
        "targets": {
            "prid": {
                "last": {"epoch": 3, "checkpoint": "checkpoints/epoch_003.pth"},
                "best_of_eval": {"epoch": 2, "checkpoint": "checkpoints/epoch_002.pth"},
            }
        },
    }
    run.final.write_text(json.dumps(final))
    return run


def test_selected_checkpoint_follows_final_json(tmp_path):
    run = _finished_run(tmp_path)
    assert run.selected("last", "prid") == (run.epoch_checkpoint(3), 3)
    assert run.selected("best_of_eval", "prid") == (run.epoch_checkpoint(2), 2)
    assert run.selected("last", "viper") == (run.epoch_checkpoint(3), 3)  # not a training target
    with pytest.raises(BauError, match="no best_of_eval checkpoint for it; use --selection last"):
        run.selected("best_of_eval", "viper")
    run.epoch_checkpoint(2).unlink()
    with pytest.raises(TrainingError, match="epoch_002.pth .*does not exist"):
        run.selected("best_of_eval", "prid")


def test_selected_checkpoint_of_an_unfinished_run(tmp_path):
    with pytest.raises(TrainingError, match="final.json is missing"):
        RunDir(tmp_path).selected("last", "prid")
