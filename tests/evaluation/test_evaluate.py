"""Feature extraction, evaluate_model over splits and bau.FeatureExtractor on tiny image trees."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import bau
from bau.datasets import create_dataset
from bau.errors import ConfigError
from bau.evaluation import EvalOptions, evaluate_model, extract_features
from bau.metrics import evaluate_rank
from bau.models import load_model
from bau.pipeline.transforms import build_test_transform
from tests.evaluation.tiny_data import HEIGHT, WIDTH, make_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "epoch_002.pth")


@pytest.fixture(scope="module")
def model(checkpoint):
    return load_model(checkpoint, num_classes=0)[0]


def test_features_are_the_models_normalised_output(model, root):
    paths = [item.path for item in create_dataset("market1501", root).query]
    feats = extract_features(model, paths, height=HEIGHT, width=WIDTH, batch_size=3, progress=False)
    assert feats.dtype == torch.float32 and feats.shape == (4, model.feat_dim)
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(4))
    transform = build_test_transform(HEIGHT, WIDTH)
    with torch.no_grad():
        direct = model.eval()(torch.stack([transform(Image.open(p).convert("RGB")) for p in paths]))
    torch.testing.assert_close(feats, torch.nn.functional.normalize(direct), atol=1e-5, rtol=0)
    one_by_one = extract_features(model, paths, height=HEIGHT, width=WIDTH, batch_size=1, progress=False)
    torch.testing.assert_close(one_by_one, feats, atol=1e-5, rtol=0)


def test_flip_averages_with_the_mirror_image_and_mode_is_restored(model, root):
    paths = [item.path for item in create_dataset("market1501", root).query]
    model.train()
    plain = extract_features(model, paths, height=HEIGHT, width=WIDTH, progress=False)
    assert model.training  # put back as found
    model.eval()
    flipped = extract_features(model, paths, height=HEIGHT, width=WIDTH, flip=True, progress=False)
    mirrored = [Image.open(p).transpose(Image.Transpose.FLIP_LEFT_RIGHT) for p in paths]
    mirror = extract_features(model, mirrored, height=HEIGHT, width=WIDTH, progress=False)
    torch.testing.assert_close(flipped, torch.nn.functional.normalize(plain + mirror), atol=1e-5, rtol=0)


def manual_metrics(model, root, split, direction="a_to_b"):
    view = create_dataset("viper", root, split_id=split, direction=direction)
    qf = extract_features(model, view.query, height=HEIGHT, width=WIDTH, progress=False)
    gf = extract_features(model, view.gallery, height=HEIGHT, width=WIDTH, progress=False)
    return evaluate_rank(
        qf,
        gf,
        *[[i.pid for i in v] for v in (view.query, view.gallery)],
        *[[i.camid for i in v] for v in (view.query, view.gallery)],
    )


def test_every_split_is_evaluated_and_summarised(model, root, tmp_path):
    metrics = evaluate_model(
        model, "viper", root, EvalOptions(height=HEIGHT, width=WIDTH, batch_size=5), save_features=tmp_path / "f.npz"
    )
    assert metrics["num_splits"] == 10 and [r["split"] for r in metrics["splits"]] == list(range(10))
    assert metrics["dataset"] == "viper" and metrics["synthetic"] is False
    for split in (0, 7):
        expected = manual_metrics(model, root, split)
        record = metrics["splits"][split]
        assert record["mAP"] == pytest.approx(expected["mAP"])
        assert record["rank1"] == pytest.approx(expected["cmc"][0])
        assert record["rank10"] == pytest.approx(expected["cmc"][9])
        assert record["num_query"] == record["num_gallery"] == 4
        assert len(record["cmc"]) == 50
    for name in ("mAP", "mINP", "rank1", "rank5", "rank10"):
        values = [r[name] for r in metrics["splits"]]
        assert metrics["summary"][name]["mean"] == pytest.approx(np.mean(values))
        assert metrics["summary"][name]["std"] == pytest.approx(np.std(values))
    assert len({r["mAP"] for r in metrics["splits"]}) > 1  # the splits differ
    np.testing.assert_allclose(metrics["cmc"], np.mean([r["cmc"] for r in metrics["splits"]], axis=0))

    saved = np.load(tmp_path / "f.npz")
    view = create_dataset("viper", root, split_id=0)
    assert list(saved["paths"]) == [i.path for i in (*view.query, *view.gallery)]
    assert saved["is_query"].tolist() == [True] * 4 + [False] * 4
    np.testing.assert_array_equal(saved["pids"], [i.pid for i in (*view.query, *view.gallery)])
    np.testing.assert_allclose(np.linalg.norm(saved["feats"], axis=1), 1, atol=1e-5)


def test_viper_both_directions_averages_the_two(model, root):
    options = EvalOptions(height=HEIGHT, width=WIDTH, viper_both_directions=True)
    metrics = evaluate_model(model, "viper", root, options, splits=[2])
    both = [manual_metrics(model, root, 2, d) for d in ("a_to_b", "b_to_a")]
    assert metrics["num_splits"] == 1
    assert metrics["splits"][0]["mAP"] == pytest.approx(np.mean([m["mAP"] for m in both]))
    assert metrics["splits"][0]["mINP"] == pytest.approx(np.mean([m["mINP"] for m in both]))


def test_single_split_dataset_and_bad_max_rank(model, root):
    options = EvalOptions(height=HEIGHT, width=WIDTH, rerank=True, max_rank=10)
    metrics = evaluate_model(model, "market1501", root, options)
    assert metrics["num_splits"] == 1 and metrics["rerank"] is True
    assert metrics["summary"]["mAP"]["std"] == 0
    assert metrics["splits"][0]["num_query"] == 4 and metrics["splits"][0]["num_gallery"] == 7
    with pytest.raises(ConfigError, match="max_rank"):
        evaluate_model(model, "market1501", root, EvalOptions(height=HEIGHT, width=WIDTH, max_rank=5))


def test_eval_options_of_a_run_config_and_overrides():
    from bau.config import validate_run

    cfg = validate_run(
        {
            "data": {"split_seed": 3, "splits_dir": "s", "workers": 2},
            "model": {"height": 64, "width": 32},
            "eval": {
                "batch_size": 7,
                "flip": True,
                "rerank": True,
                "max_rank": 20,
                "viper_both_directions": True,
                "amp": True,
            },
        }
    )
    options = EvalOptions.from_run_config(cfg)
    assert options == EvalOptions(
        height=64,
        width=32,
        split_seed=3,
        splits_dir="s",
        batch_size=7,
        flip=True,
        rerank=True,
        max_rank=20,
        workers=2,
        amp=True,
        viper_both_directions=True,
    )
    assert EvalOptions.from_run_config(cfg, flip=False, workers=0) == EvalOptions(
        height=64,
        width=32,
        split_seed=3,
        splits_dir="s",
        batch_size=7,
        flip=False,
        rerank=True,
        max_rank=20,
        workers=0,
        amp=True,
        viper_both_directions=True,
    )


def test_feature_extractor_maps_paths_and_pil_images(checkpoint, root):
    extractor = bau.FeatureExtractor(checkpoint, device="cpu", batch_size=2)
    paths = sorted((root / "VIPeR" / "cam_a").glob("*.bmp"))[:3]
    by_path = extractor(paths)
    by_image = extractor([Image.open(p) for p in paths])
    assert by_path.shape == (3, extractor.feat_dim)
    torch.testing.assert_close(by_image, by_path)
    torch.testing.assert_close(extractor(str(paths[1])), by_path[1:2])
    torch.testing.assert_close(by_path.norm(dim=1), torch.ones(3))
    assert extractor.height == HEIGHT and extractor.epoch == 2


def test_cuda_request_without_gpu_is_a_clear_error(checkpoint):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(ConfigError, match="no CUDA device"):
        bau.FeatureExtractor(checkpoint, device="cuda")
