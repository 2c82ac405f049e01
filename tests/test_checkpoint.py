"""Checkpoint files: a round trip, and foreign, damaged or code-carrying files refused."""

import collections

import pytest
import torch

from bau.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from bau.errors import TrainingError
from bau.io import torch_save


class Payload:
    """A class a pickle can name: building it on load is what weights-only loading refuses."""


def test_round_trip_keeps_the_values_and_adds_the_format(tmp_path):
    path = tmp_path / "c.pth"
    save_checkpoint(path, {"epoch": 3, "model": {"w": torch.arange(4.0)}, "config": {"seed": 1}})
    loaded = load_checkpoint(path)
    assert loaded["format"] == FORMAT and loaded["epoch"] == 3 and loaded["config"] == {"seed": 1}
    assert torch.equal(loaded["model"]["w"], torch.arange(4.0))


def test_foreign_and_damaged_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pth"
    torch_save(foreign, {"model": {}})
    with pytest.raises(TrainingError, match="not a bau-checkpoint-v1 checkpoint"):
        load_checkpoint(foreign)
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"not a zip file")
    with pytest.raises(TrainingError, match=r"cannot read checkpoint .*damaged\.pth") as raised:
        load_checkpoint(damaged)
    assert "weights_only" not in str(raised.value) and "re-create it with `bau train`" in str(raised.value)
    truncated = tmp_path / "truncated.pth"
    save_checkpoint(truncated, {"epoch": 1})
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(TrainingError, match=r"cannot read checkpoint .*truncated\.pth"):
        load_checkpoint(truncated)


def test_a_file_with_pickled_objects_is_refused_without_the_unsafe_hint(tmp_path):
    path = tmp_path / "unsafe.pth"
    torch_save(path, {"format": FORMAT, "epoch": 1, "extra": Payload(), "ok": collections.OrderedDict()})
    with pytest.raises(TrainingError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert message.startswith(f"refused to load {path}: it holds a pickled Python object")
    assert f"{__name__}.Payload" in message
    assert "checkpoint written by `bau train`" in message and "source you trust" in message
    # Loading with weights_only=False would build the object, i.e. run code from the file.
    assert "weights_only" not in message and "add_safe_globals" not in message
