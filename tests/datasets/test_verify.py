"""`bau verify`: layout, decoding, counts, report and exit status."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from bau.cli import main as bau_main
from bau.datasets import DATASET_NAMES
from bau.datasets.stats import PUBLISHED, DatasetStats
from bau.datasets.verify import decode_error, verify, verify_groups, verify_key
from bau.io import read_json, write_json
from tests.fixtures.datasets import (
    MARKET,
    build_all,
    build_cuhk03,
    build_cuhksysu,
    build_grid,
    build_market,
    image_bytes,
    truncate,
)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp"])
def test_decode_error_detects_truncated_files(tmp_path, suffix):
    path = tmp_path / f"img{suffix}"
    path.write_bytes(image_bytes(suffix))
    assert decode_error(path) is None
    truncate(path)
    assert decode_error(path) is not None
    path.write_bytes(b"")
    assert "UnidentifiedImageError" in decode_error(path)


def test_correct_tree_exits_zero_and_writes_the_report(tmp_path, capsys):
    root = build_all(tmp_path / "data")
    out = tmp_path / "verify.json"
    assert bau_main(["verify", *DATASET_NAMES, "--data-root", str(root), "--out", str(out), "--workers", "2"]) == 0
    report = read_json(out)
    assert report["ok"] is True and report["expected_counts"] == "published" and report["synthetic"] is False
    assert list(report["datasets"]) == list(DATASET_NAMES)
    market = report["datasets"]["market1501"]
    assert market["status"] == "warning" and market["errors"] == [] and market["images_checked"] == 12
    assert market["counts"] == dataclasses.asdict(DatasetStats(4, 3, 2, 2, 5, 3, None, None, 6))
    # a differing count is a warning with both numbers; where the expected ones come from is said
    assert "market1501: train_images: found 4, expected 12,936" in market["warnings"]
    assert any("Zheng et al." in w for w in market["warnings"])
    assert report["datasets"]["prid"]["counts"]["ids"] == 200 + 3 + 6
    assert report["datasets"]["grid"]["counts"] == dataclasses.asdict(DatasetStats(images=14, ids=6, cameras=8))
    assert "market1501: warning (12 images decoded)" in capsys.readouterr().out


def test_missing_folder_and_truncated_jpeg_are_errors(tmp_path, capsys):
    root = tmp_path / "data"
    build_market(root)
    build_cuhksysu(root)
    for path in (root / MARKET / "query").iterdir():
        path.unlink()
    (root / MARKET / "query").rmdir()
    broken = root / "CUHK-SYSU/bounding_box_train/00003_c1_000001.jpg"
    truncate(broken)
    out = tmp_path / "verify.json"
    assert bau_main(["verify", "market1501", "cuhksysu", "--data-root", str(root), "--out", str(out)]) == 2
    report = read_json(out)  # written although the check failed
    assert report["ok"] is False
    market, sysu = report["datasets"]["market1501"], report["datasets"]["cuhksysu"]
    assert market["status"] == sysu["status"] == "error"
    assert market["errors"][0].startswith(
        f"market1501: folder '{MARKET}/query' is missing: expected {root / MARKET / 'query'}"
    )
    assert [bad["path"] for bad in sysu["unreadable"]] == [str(broken)]
    assert "truncated" in sysu["unreadable"][0]["error"].lower()
    assert sysu["counts"] is None
    captured = capsys.readouterr()
    assert str(root / MARKET / "query") in captured.out and str(broken) in captured.out
    assert "dataset check failed for market1501, cuhksysu" in captured.err


def test_every_unreadable_file_is_listed(tmp_path):
    root = tmp_path
    build_market(root)
    bad = [root / MARKET / "query/0010_c1s1_001051_00.jpg", root / MARKET / "bounding_box_test/0000_c1s1_000001_01.jpg"]
    for path in bad:
        truncate(path)
    entry = verify(["market1501", "market1501dg"], root, workers=2)["datasets"]
    assert sorted(b["path"] for b in entry["market1501"]["unreadable"]) == sorted(map(str, bad))
    assert entry["market1501dg"]["unreadable"] == entry["market1501"]["unreadable"]


def test_a_dg_variant_runs_its_own_parser_checks(tmp_path, capsys):
    """cuhk03 accepts cameras 1-8, cuhk03dg only 1-2 (the reference asserts it): a camera-3
    image fails the DG variant's report only, named with the file and the rule."""
    build_cuhk03(tmp_path / "data")
    odd = tmp_path / "data/cuhk03-np/detected/bounding_box_train/0005_c3_1.png"
    odd.write_bytes(image_bytes(".png"))
    out = tmp_path / "verify.json"
    assert bau_main(["verify", "cuhk03", "cuhk03dg", "--data-root", str(tmp_path / "data"), "--out", str(out)]) == 2
    datasets = read_json(out)["datasets"]
    assert datasets["cuhk03"]["errors"] == []
    assert datasets["cuhk03dg"]["errors"] == [
        f"cuhk03: camera 3 of {odd} is outside 1..2; the folder does not hold the expected dataset "
        f"(or a file was renamed): remove or fix that file"
    ]
    assert "dataset check failed for cuhk03dg" in capsys.readouterr().err


def test_verify_keys_and_groups():
    assert [verify_key(name) for name in ("market1501", "market1501dg", "cuhk03dg", "cuhk02dg", "viper")] == [
        "market1501",
        "market1501",
        "cuhk03",
        "cuhk02dg",
        "viper",
    ]
    assert verify_groups(["viper", "market1501dg", "cuhk03", "market1501", "viper", "cuhk03dg"]) == {
        "cuhk03": ["cuhk03", "cuhk03dg"],
        "market1501": ["market1501", "market1501dg"],
        "viper": ["viper"],
    }
    assert verify_groups(DATASET_NAMES).keys() == PUBLISHED.keys()


def test_grid_folder_named_after_the_original_readme(tmp_path):
    build_grid(tmp_path)
    (tmp_path / "underground_reid").rename(tmp_path / "underground_grid")
    entry = verify(["grid"], tmp_path, workers=1)["datasets"]["grid"]
    assert entry["status"] == "error"
    assert "'underground_grid', which is wrong: the parser requires 'underground_reid'" in entry["errors"][0]
    (tmp_path / "underground_grid").rename(tmp_path / "elsewhere")
    message = verify(["grid"], tmp_path, workers=1)["datasets"]["grid"]["errors"][0]
    assert f"folder 'underground_reid' is missing: expected {tmp_path / 'underground_reid'}" in message
    assert "underground_grid" in message  # the note about the README


def test_parse_errors_are_reported(tmp_path):
    build_grid(tmp_path)
    (tmp_path / "underground_reid/features_and_partitions.mat").write_bytes(b"not a mat file")
    entry = verify(["grid"], tmp_path, workers=1)["datasets"]["grid"]
    assert entry["status"] == "error" and "cannot read the ten training partitions" in entry["errors"][0]


def test_missing_data_root(tmp_path):
    entry = verify(["viper"], tmp_path / "nowhere", workers=1)["datasets"]["viper"]
    assert entry["errors"] == [
        f"viper: the data root {tmp_path / 'nowhere'} does not exist or is not a folder; "
        f"pass the folder that holds the dataset folders with --data-root"
    ]


def _synthetic(root, counts):
    """A marker as `bau synth` writes it; ``counts`` None leaves out the expected counts (older markers)."""
    marker = {"scale": "tiny", "seed": 1, "bau_version": "0"}
    if counts is not None:
        marker["expected_counts"] = {name: dataclasses.asdict(stats) for name, stats in counts.items()}
    write_json(root / "bau_synthetic.json", marker)


def test_synthetic_root_uses_the_counts_recorded_by_synth(tmp_path):
    build_cuhksysu(tmp_path)
    _synthetic(tmp_path, {"cuhksysu": DatasetStats(train_images=4, train_ids=3, cameras=2)})
    report = verify(["cuhksysu"], tmp_path, workers=1)
    assert report["synthetic"] is True
    assert report["expected_counts"] == "bau.synth.expected_counts('tiny')"
    assert report["datasets"]["cuhksysu"]["status"] == "ok" and report["datasets"]["cuhksysu"]["warnings"] == []

    _synthetic(tmp_path, {"cuhksysu": DatasetStats(train_images=5)})
    warnings = verify(["cuhksysu"], tmp_path, workers=1)["datasets"]["cuhksysu"]["warnings"]
    assert warnings[0] == "cuhksysu: train_images: found 4, expected 5"


def test_synthetic_marker_without_counts_is_a_warning(tmp_path):
    build_cuhksysu(tmp_path)
    _synthetic(tmp_path, None)
    entry = verify(["cuhksysu"], tmp_path, workers=1)["datasets"]["cuhksysu"]
    assert entry["status"] == "warning" and "counts were not checked" in entry["warnings"][0]
    assert any(
        "records no valid 'expected_counts'" in w and "Write the benchmark again with bau synth" in w
        for w in entry["warnings"]
    )


def test_verify_does_not_import_synth():
    code = "import sys, bau.datasets.verify; print(any(m.startswith('bau.synth') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_published_table_has_a_source_for_every_folder():
    folders = {"market1501", "msmt17", "cuhk03", "cuhk02dg", "cuhksysu", "grid", "ilids", "prid", "viper"}
    assert set(PUBLISHED) == folders
    assert all(entry.source for entry in PUBLISHED.values())
    assert PUBLISHED["market1501"].stats.gallery_images == 15913 and PUBLISHED["msmt17"].stats.gallery_images == 82161
