"""The analysis figures of the sweeps (bau.report.analyses), from fabricated metrics and
features: what each panel draws, and `bau figure sweep_*` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bau.cli import main as bau_main
from bau.errors import BauError
from bau.io import write_json
from bau.report.analyses import SweepMeasure, plot_sweep_align_uniform, plot_sweep_map
from tests.report.fixtures import clustered_features, metrics_dict, write_features
from tests.report.test_figures import assert_png_and_pdf


def _measures(series: str, parameter: str, values: list, default, maps: dict) -> list[SweepMeasure]:
    """maps: value -> mAP per seed (fractions)."""
    return [
        SweepMeasure(series, parameter, v, default, str(seed), m)
        for v in values
        for seed, m in enumerate(maps[v], start=1)
    ]


def test_map_panel_per_parameter_mean_and_std_over_seeds():
    k = _measures("BAU", "method.k", [5, 10, 20], 10, {5: [0.30, 0.40], 10: [0.50, 0.50], 20: [0.20, 0.30]})
    lam = _measures("BAU", "method.lam", [0.5, 1.5], 1.5, {0.5: [0.4, 0.4], 1.5: [0.5, 0.5]})
    figure = plot_sweep_map(k + lam, target="Market-1501")
    axes = figure.axes
    assert len(axes) == 2
    assert axes[0].get_xlabel().startswith("k") and axes[1].get_xlabel().startswith("λ")
    assert axes[0].get_ylabel() == "Market-1501 mAP (%)"
    curve = axes[0].lines[0]
    np.testing.assert_allclose(np.asarray(curve.get_xdata(), float), [5, 10, 20])
    np.testing.assert_allclose(np.asarray(curve.get_ydata(), float), [35.0, 50.0, 25.0])
    # error bars: ± the std over the two seeds (ddof=1), in mAP points
    bars = [c for c in axes[0].collections if c.get_segments()]
    (segments,) = [c.get_segments() for c in bars]
    half = [abs(s[1][1] - s[0][1]) / 2 for s in segments]
    np.testing.assert_allclose(half, [100 * np.std([0.3, 0.4], ddof=1), 0.0, 100 * np.std([0.2, 0.3], ddof=1)])
    # the default is marked where it is
    marks = [line for line in axes[0].lines if line.get_linestyle() == ":"]
    assert [m.get_xdata()[0] for m in marks] == [10]
    assert any("default k = 10" in t.get_text() for t in axes[0].texts)
    assert any("2 seeds" in t.get_text() for t in axes[0].texts)


def test_map_curve_follows_the_values_whatever_the_input_order():
    lam = _measures("BAU", "method.lam", [1.5, 0.5, 2.5], 1.5, {1.5: [0.5], 0.5: [0.4], 2.5: [0.3]})
    curve = plot_sweep_map(lam).axes[0].lines[0]
    np.testing.assert_allclose(np.asarray(curve.get_xdata(), float), [0.5, 1.5, 2.5])
    np.testing.assert_allclose(np.asarray(curve.get_ydata(), float), [40.0, 50.0, 30.0])


def test_map_two_series_in_one_panel_and_boolean_values():
    a = _measures("Plain, M→M", "augment.prob", [0.0, 0.5, 1.0], 0.5, {0.0: [0.6], 0.5: [0.7], 1.0: [0.65]})
    b = _measures("Plain, MS+CS+C3→M", "augment.prob", [0.0, 0.5, 1.0], 0.5, {0.0: [0.3], 0.5: [0.4], 1.0: [0.2]})
    figure = plot_sweep_map(a + b, target="Market-1501")
    assert len(figure.axes) == 1
    curves = [line for line in figure.axes[0].lines if line.get_linestyle() != ":"]
    assert len(curves) == 2
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["Plain, M→M", "Plain, MS+CS+C3→M"]
    switch = _measures("BAU", "method.domain", [True, False], True, {True: [0.5], False: [0.45]})
    axes = plot_sweep_map(switch).axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["True", "False"]
    with pytest.raises(BauError, match="no sweep measurement"):
        plot_sweep_map([])


def test_align_uniform_two_panels():
    align = _measures("BAU", "augment.prob", [0.0, 1.0], 0.5, {0.0: [0.8], 1.0: [0.6]})
    uniform = _measures("BAU", "augment.prob", [0.0, 1.0], 0.5, {0.0: [-2.0], 1.0: [-3.0]})
    figure = plot_sweep_align_uniform(align, uniform, target="Market-1501")
    assert [ax.get_title() for ax in figure.axes[:2]] == ["Alignment", "Uniformity"]
    np.testing.assert_allclose(np.asarray(figure.axes[1].lines[0].get_ydata(), float), [-2.0, -3.0])


def _point(series, parameter, value, default, seed="1", **extra):
    return {"series": series, "parameter": parameter, "value": value, "default": default, "seed": seed, **extra}


def test_bau_figure_sweep_map_and_align_uniform(tmp_path):
    inputs, points = [], []
    for value, m in [(0.0, 0.3), (0.5, 0.45), (1.0, 0.4)]:
        path = tmp_path / f"p{value}" / "metrics.json"
        write_json(path, metrics_dict(m, m + 0.2, dataset="market1501"))
        write_features(path.with_name("features.npz"), tmp_path / "data", seed=int(10 * value))
        inputs.append(path)
        # the base run stands for two sweeps' points
        points.append([_point("BAU", "augment.prob", value, 0.5, target="Market-1501")])
    points[1].append(_point("Plain", "augment.prob", 0.5, 0.5, target="Market-1501"))
    out = tmp_path / "fig.png"
    args = ["figure", "sweep_map", "--inputs", *map(str, inputs), "--points", json.dumps(points), "--out", str(out)]
    assert bau_main(args) == 0
    assert_png_and_pdf(out)
    features = [str(p.with_name("features.npz")) for p in inputs]
    out = tmp_path / "au.png"
    args = ["figure", "sweep_align_uniform", "--inputs", *features, "--points", json.dumps(points), "--out", str(out)]
    assert bau_main(args) == 0
    assert_png_and_pdf(out)


def test_points_must_match_the_inputs(tmp_path, capsys):
    path = tmp_path / "metrics.json"
    write_json(path, metrics_dict(0.3, 0.5))
    args = ["figure", "sweep_map", "--inputs", str(path), "--points", "[]", "--out", str(tmp_path / "x.png")]
    assert bau_main(args) == 2
    assert "--points describes 0 input(s) but --inputs has 1" in capsys.readouterr().err


def test_bau_figure_sweep_tsne_panel_per_value(tmp_path):
    inputs, points = [], []
    for panel in ("with L_domain", "without L_domain"):
        for i, domain in enumerate(("MSMT17", "CUHK-SYSU")):
            feats, pids = clustered_features(num_ids=5, per_id=3, dim=16, seed=i)
            inputs.append(tmp_path / f"{panel[:4]}{i}.npz")
            np.savez(inputs[-1], feats=feats + i, pids=pids)
            points.append([_point("BAU", "method.domain", panel == "with L_domain", True, panel=panel, domain=domain)])
    out = tmp_path / "tsne.png"
    args = ["figure", "sweep_tsne", "--inputs", *map(str, inputs), "--points", json.dumps(points)]
    args += ["--out", str(out), "--perplexity", "5"]
    with threadpool_limits(limits=1, user_api="openmp"):
        assert bau_main(args) == 0
    assert_png_and_pdf(out)
