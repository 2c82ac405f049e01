"""Figure builders through `bau figure`: each kind writes non-empty PNG and PDF files;
ranking and subsampling helpers on hand-made cases; input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from threadpoolctl import threadpool_limits

from bau.cli import main as bau_main
from bau.errors import BauError
from bau.report.embedding_plots import subsample_per_domain
from bau.report.inputs import default_labels, load_features, load_losses
from bau.report.plotting import colours, label_colours
from bau.report.retrieval import choose_queries, rank_gallery
from tests.report.fixtures import clustered_features, metrics_dict, write_features, write_losses, write_results


def assert_png_and_pdf(out: Path) -> None:
    assert out.stat().st_size > 1000
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 200
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]  # atomic writes


def test_loss_curves(tmp_path):
    runs = tmp_path / "results" / "runs" / "protocol2" / "cuhk03"
    bau = write_losses(runs / "bau" / "losses.jsonl", epochs=2, iters=10)
    baseline = write_losses(runs / "baseline" / "losses.jsonl", epochs=2, iters=10, with_bau_terms=False)
    out = tmp_path / "figures" / "loss_curves.png"
    assert bau_main(["figure", "loss_curves", "--inputs", str(bau), str(baseline), "--out", str(out)]) == 0
    assert_png_and_pdf(out)


def test_cmc_with_single_and_multi_split_targets(tmp_path):
    results = tmp_path / "results"
    inputs = [
        write_results(
            results, "protocol1", "prid", "bau", metrics_dict([0.5, 0.6, 0.55], [0.6, 0.7, 0.65], dataset="prid")
        ),
        write_results(results, "protocol1", "grid", "bau", metrics_dict(0.4, 0.5, dataset="grid")),
        write_results(results, "protocol1", "grid", "baseline", metrics_dict(0.3, 0.4, dataset="grid")),
    ]
    out = tmp_path / "cmc.png"
    assert bau_main(["figure", "cmc", "--inputs", *map(str, inputs), "--out", str(out), "--max-rank", "10"]) == 0
    assert_png_and_pdf(out)


def test_align_uniform_and_retrieval(tmp_path):
    results, data = tmp_path / "results", tmp_path / "data"
    inputs = []
    for method, spread in (("baseline", 0.6), ("bau", 0.3)):
        inputs.append(write_features(results / "protocol2" / "cuhk03" / method / "features.npz", data, spread=spread))
    write_results(results, "protocol2", "cuhk03", "bau", metrics_dict(0.4, 0.5))
    out = tmp_path / "align_uniform.png"
    assert bau_main(["figure", "align_uniform", "--inputs", *map(str, inputs), "--out", str(out)]) == 0
    assert_png_and_pdf(out)
    out = tmp_path / "retrieval.png"
    args = [
        "figure",
        "retrieval",
        "--inputs",
        *map(str, inputs),
        "--data-root",
        str(data),
        "--queries",
        "2",
        "--out",
        str(out),
    ]
    assert bau_main(args) == 0
    assert_png_and_pdf(out)


def test_retrieval_names_a_missing_image(tmp_path, capsys):
    path = write_features(tmp_path / "r" / "p" / "t" / "bau" / "features.npz", tmp_path / "data")
    code = bau_main(["figure", "retrieval", "--inputs", str(path), "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert "of the features file does not exist; pass --data-root" in capsys.readouterr().err


def test_tsne_of_domains(tmp_path):
    inputs = []
    for i, name in enumerate(("market", "msmt", "target")):
        feats, pids = clustered_features(num_ids=6, per_id=3, dim=16, seed=i)
        inputs.append(tmp_path / f"{name}.npz")
        np.savez(inputs[-1], feats=feats + i, pids=pids)
    out = tmp_path / "tsne.png"
    args = [
        "figure",
        "tsne",
        "--inputs",
        *map(str, inputs),
        "--labels",
        "Market",
        "MSMT",
        "CUHK03",
        "--targets",
        "CUHK03",
        "--out",
        str(out),
        "--perplexity",
        "5",
    ]
    # one OpenMP thread: on a busy machine t-SNE's spinning threads slow it down many times
    with threadpool_limits(limits=1, user_api="openmp"):
        assert bau_main(args) == 0
    assert_png_and_pdf(out)


def test_tsne_domains_from_labels_or_the_npz(tmp_path, capsys):
    feats, pids = clustered_features(num_ids=3, per_id=3, dim=4)
    np.savez(tmp_path / "a.npz", feats=feats, pids=pids)
    np.savez(tmp_path / "b.npz", feats=feats, domain=np.array(["X"] * 4 + ["Y"] * 5))  # one name per row
    args = ["figure", "tsne", "--inputs", str(tmp_path / "a.npz"), "--labels", "A", "--targets", "B"]
    assert bau_main([*args, "--out", str(tmp_path / "t.png")]) == 2
    assert "--targets B: no such domain; the domains are A" in capsys.readouterr().err
    args = ["figure", "tsne", "--inputs", str(tmp_path / "b.npz"), "--targets", "Z", "--out", str(tmp_path / "t.png")]
    assert bau_main(args) == 2
    assert "the domains are X, Y" in capsys.readouterr().err


def test_figure_input_errors(tmp_path, capsys):
    losses = write_losses(tmp_path / "losses.jsonl", epochs=1, iters=5)
    assert bau_main(["figure", "loss_curves", "--inputs", str(losses), "--out", str(tmp_path / "x.pdf")]) == 2
    assert "must end in .png" in capsys.readouterr().err
    assert (
        bau_main(
            ["figure", "loss_curves", "--inputs", str(losses), "--labels", "a", "b", "--out", str(tmp_path / "x.png")]
        )
        == 2
    )
    assert "--labels has 2 label(s) for 1 input(s)" in capsys.readouterr().err
    missing = tmp_path / "results" / "p" / "t" / "m" / "metrics.json"
    assert bau_main(["figure", "cmc", "--inputs", str(missing), "--out", str(tmp_path / "x.png")]) == 2
    assert f"metrics file {missing} does not exist" in capsys.readouterr().err
    np.savez(tmp_path / "f.npz", feats=np.ones((3, 2)))
    with pytest.raises(BauError, match=r"f.npz has no pids, camids, paths, is_query \(it holds: feats\)"):
        load_features(tmp_path / "f.npz")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(BauError, match="holds no training records"):
        load_losses(tmp_path / "empty.jsonl")


def test_loss_log_steps_are_global_iterations(tmp_path):
    path = tmp_path / "losses.jsonl"
    path.write_text("".join(f'{{"epoch": {e}, "iter": {i}, "loss": 1.0}}\n' for e in (1, 2) for i in (1, 2, 3)))
    assert load_losses(path)["step"].tolist() == [1, 2, 3, 4, 5, 6]


def test_default_labels_from_the_results_layout():
    paths = ["results/protocol2/cuhk03/bau/metrics.json", "results/protocol2/cuhk03/baseline/metrics.json"]
    assert default_labels(paths) == ["BAU", "Baseline"]
    paths = ["results/protocol2/cuhk03/bau/metrics.json", "results/protocol3/msmt17/bau/metrics.json"]
    assert default_labels(paths) == ["Protocol-2 · CUHK03-NP · BAU", "Protocol-3 · MSMT17 · BAU"]


def test_rank_gallery_excludes_same_camera_matches():
    # query 0 (pid 1, cam 0); gallery: same pid same cam (excluded), other pid, same pid other cam
    features = {
        "feats": np.array([[1.0, 0.0], [1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]),
        "pids": np.array([1, 1, 2, 1]),
        "camids": np.array([0, 0, 1, 1]),
        "is_query": np.array([True, False, False, False]),
    }
    top, correct = rank_gallery(features, 0, topk=10)
    assert top.tolist() == [2, 3]
    assert correct.tolist() == [False, True]
    assert choose_queries(features, 5) == [0]
    features["pids"] = np.array([1, 1, 2, 3])  # its only match is on its own camera
    with pytest.raises(BauError, match="no query has a correct match"):
        choose_queries(features, 5)


def test_subsample_shares_points_between_domains():
    domains = np.array(["a"] * 100 + ["b"] * 10 + ["c"] * 50)
    rows = subsample_per_domain(domains, 60)
    kept = dict(zip(*np.unique(domains[rows], return_counts=True)))
    assert kept == {"a": 25, "b": 10, "c": 25}  # b keeps all 10, a and c share the rest
    assert rows.tolist() == sorted(set(rows.tolist()))
    assert np.array_equal(rows, subsample_per_domain(domains, 60))


def test_methods_keep_their_colour_across_figures():
    blue, orange, green = colours(10)[:3]
    assert label_colours(["Baseline", "BAU"]) == {"Baseline": orange, "BAU": blue}
    assert label_colours(["BAU", "my variant"])["BAU"] == blue
    # a label without a colour of its own takes the first free one
    assert label_colours(["my variant", "BAU"]) == {"my variant": orange, "BAU": blue}
    assert len(set(label_colours([f"run {i}" for i in range(12)]).values())) == 12


def test_a_tables_shared_runs_share_its_panels():
    # The loss ablation's BAU and baseline are Protocol-2's runs, evaluated in its folders:
    # one CUHK03 panel for the four methods, not one per protocol folder.
    from argparse import Namespace

    from bau.report.figures import _panels

    paths = [
        f"results/{p}/cuhk03/{m}/seed1/metrics.json" for p, m in (("protocol2", "baseline"), ("ablation_loss", "align"))
    ]
    assert _panels(Namespace(inputs=paths, labels=None)) == [("CUHK03-NP", "Baseline"), ("CUHK03-NP", "+ Align")]
    # The same method of two protocols on one target: the labels say which is which.
    paths = [f"results/{p}/cuhk03/bau/seed1/metrics.json" for p in ("protocol2", "protocol3")]
    assert _panels(Namespace(inputs=paths, labels=None)) == [
        ("CUHK03-NP", "BAU (Protocol-2)"),
        ("CUHK03-NP", "BAU (Protocol-3)"),
    ]


def test_a_long_title_is_wrapped_to_the_figure_width_line_by_line():
    from matplotlib.figure import Figure

    from bau.report.plotting import set_title

    figure = Figure(figsize=(4, 3))
    table = "Ablation of the augmentations of the strong view (paper Table 8)"
    set_title(figure, f"Alignment\n{table}")
    lines = figure._suptitle.get_text().split("\n")
    assert lines[0] == "Alignment" and " ".join(lines[1:]) == table
    assert len(lines) > 2 and all(len(line) <= 44 for line in lines)
