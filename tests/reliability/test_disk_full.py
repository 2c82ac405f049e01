"""A full disk: one line naming the file, the bytes it needed and the free space, exit status
2, the previous file intact; temporary files of killed writers are removed on the next run."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections import namedtuple
from pathlib import Path

import pytest
import torch

import bau.io as bau_io
from bau.errors import DiskFullError
from bau.io import remove_stale_temps, torch_save, write_json
from bau.training.lock import run_folder_lock
from tests.fixtures.datasets import write_benchmark
from tests.reliability.helpers import bau, error_lines, faulty_train
from tests.training.tiny_data import tiny_run_config

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def full_disk(monkeypatch):
    """The disk reports 1000 bytes free."""
    monkeypatch.setattr(bau_io.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))


def test_a_save_that_does_not_fit_is_refused_before_writing(tmp_path, full_disk):
    path = tmp_path / "last.pth"
    torch.save({"epoch": 1}, path)
    previous = path.read_bytes()
    with pytest.raises(DiskFullError) as error:
        torch_save(path, {"weights": torch.zeros(10_000)})
    size = len(_serialised({"weights": torch.zeros(10_000)}))
    assert str(error.value) == (
        f"no space left on device to write {path}: it needs {size / 1e3:.1f} kB ({size} bytes), 1.0 kB (1000 bytes) free "
        "on that disk; the previous last.pth is unchanged. Free some space and rerun the same command"
    )
    assert path.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pth"]


def test_enospc_while_writing_keeps_the_previous_file(tmp_path, monkeypatch, full_disk):
    path = tmp_path / "metrics.json"
    write_json(path, {"mAP": 0.5})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bau_io.os, "fsync", no_space)
    with pytest.raises(DiskFullError) as error:
        write_json(path, {"mAP": 0.75})
    assert str(error.value) == (
        f"no space left on device to write {path}: it needs at least 18 bytes (written when the disk filled), "
        "1.0 kB (1000 bytes) free on that disk; the previous metrics.json is unchanged. Free some space and rerun "
        "the same command"
    )
    assert json.loads(path.read_text()) == {"mAP": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_other_errors_pass_unchanged(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(bau_io.os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output error"):
        write_json(tmp_path / "a.json", {})
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_are_removed_under_the_lock(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    stale = [
        run / "checkpoints" / ".last.pth.k2j3h4g5.tmp",
        run / ".losses.jsonl.abcd1234.tmp",
        run / ".final.json.x.tmp",
    ]
    kept = [run / "checkpoints" / "last.pth", run / ".notes.txt.x.tmp", run / "log.txt"]
    for path in stale + kept:
        path.write_text("x")
    with run_folder_lock(run):
        pass
    assert [p.exists() for p in stale] == [False] * 3
    assert [p.exists() for p in kept] == [True] * 3
    assert remove_stale_temps(run) == [run / ".notes.txt.x.tmp"]  # all `.*.tmp` without names


def _serialised(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("tiny_benchmark"))


def _run_config(data_root: Path, tmp_path: Path) -> Path:
    from bau.io import write_yaml

    path = tmp_path / "run.yaml"
    write_yaml(path, tiny_run_config(data_root, epochs=2, iters=2, eval_epochs=[1]))
    return path


@pytest.mark.slow
def test_bau_train_on_a_full_disk(data_root, tmp_path):
    run = tmp_path / "run"
    result = faulty_train("disk-full-epoch-2", "--config", str(_run_config(data_root, tmp_path)), "--out", str(run))
    assert result.returncode == 2, result.stderr[-3000:]
    [line] = error_lines(result)
    assert line.startswith(
        f"bau train: error: no space left on device to write {run / 'checkpoints' / 'epoch_002.pth'}: it needs "
    )
    assert line.endswith(
        " bytes), 1.0 kB (1000 bytes) free on that disk; epoch_002.pth was not written. Free some space and rerun the same command"
    )
    assert "Traceback" not in result.stderr
    last = torch.load(run / "checkpoints" / "last.pth", weights_only=True)
    assert last["epoch"] == 1  # the previous checkpoint, intact
    # Space freed: the same command resumes from it and finishes.
    result = bau("train", "--config", str(tmp_path / "run.yaml"), "--out", str(run))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (run / "log.txt").read_text()


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=False, capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.slow
def test_bau_train_on_a_real_full_tmpfs(data_root, tmp_path):
    """A real full disk: a tmpfs too small for the second checkpoint (needs permission to mount)."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        # The size of one checkpoint of this run, measured: room for two (epoch 1), not three.
        probe = tmp_path / "probe"
        result = faulty_train("none", "--config", str(_run_config(data_root, tmp_path)), "--out", str(probe),
                              "--set", "train.epochs=1")  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        size = (probe / "checkpoints" / "last.pth").stat().st_size
        subprocess.run(["umount", str(disk)], check=True)
        assert (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={int(2.5 * size)}", "tmpfs", str(disk)], check=False
            ).returncode
            == 0
        )
        run = disk / "run"
        result = bau("train", "--config", str(tmp_path / "run.yaml"), "--out", str(run))
        assert result.returncode == 2, result.stderr[-3000:]
        [line] = error_lines(result)
        assert line.startswith(f"bau train: error: no space left on device to write {run / 'checkpoints'}")
        assert "Traceback" not in result.stderr
        assert torch.load(run / "checkpoints" / "last.pth", weights_only=True)["epoch"] == 1
        assert not [p for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    finally:
        subprocess.run(["umount", str(disk)], check=False, capture_output=True)
