"""`bau synth` on the command line."""

from __future__ import annotations

import pytest
from PIL import Image

from bau.cli import main


def test_preview_grid(tmp_path):
    out = tmp_path / "preview.png"
    assert main(["synth", "--preview", str(out), "--seed", "3"]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG"
        # a label column plus at least eight cells per row; the shared row plus nine datasets
        assert image.width > 500 and image.height > 10 * 96
    assert out.stat().st_size < 300_000


def test_negative_seed_is_a_user_error(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--seed", "-1"]) == 2
    assert "--seed must be >= 0" in capsys.readouterr().err


def test_out_or_preview_is_required(tmp_path):
    with pytest.raises(SystemExit):
        main(["synth", "--scale", "tiny"])
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path), "--scale", "huge"])
