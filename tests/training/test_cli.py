"""`bau train` configuration: --set overrides, --device, validation naming the key."""

import pytest
import yaml

from bau.errors import ConfigError
from bau.training.cli import apply_overrides, process_count, resolve_config
from bau.training.runlog import JsonlLog


def test_overrides_are_dotted_and_yaml_parsed(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"train": {"epochs": 5}, "model": {"arch": "resnet18"}}))
    cfg = resolve_config(
        str(path), ["train.epochs=2", "data.sources=[market1501, msmt17]", "method.lam=0.5"], device="cpu"
    )
    assert cfg["train"]["epochs"] == 2
    assert cfg["data"]["sources"] == ["market1501", "msmt17"]
    assert cfg["method"]["lam"] == 0.5
    assert cfg["train"]["device"] == "cpu"
    assert cfg["model"]["arch"] == "resnet18"
    assert cfg["train"]["iters"] == 500  # schema default filled in


def test_override_errors_name_the_key():
    with pytest.raises(ConfigError, match="dotted.key=value"):
        apply_overrides({}, ["train.epochs"])
    with pytest.raises(ConfigError, match="'train.epochs' is a value"):
        apply_overrides({"train": {"epochs": 3}}, ["train.epochs.x=1"])
    with pytest.raises(ConfigError, match="train.epochs"):
        resolve_config(None, ["train.epochs=zero"])
    with pytest.raises(ConfigError, match="train.epoch"):
        resolve_config(None, ["train.epoch=2"])


def test_jsonl_resume_drops_records_past_the_checkpoint(tmp_path):
    path = tmp_path / "losses.jsonl"
    log = JsonlLog(path)
    for epoch in (1, 2, 3):
        log.append({"epoch": epoch, "iter": 1, "loss": float(epoch)})
    log.flush()
    resumed = JsonlLog(path)
    resumed.resume(2)
    assert [r["epoch"] for r in resumed.records] == [1, 2]
    assert path.read_text().count("\n") == 2


@pytest.mark.parametrize(
    ("device", "gpus", "nproc", "expected"),
    [
        ("cpu", 2, None, (0, 1)),  # a CPU run leases nothing, whatever train.gpus says
        ("cpu", 0, 2, (0, 2)),  # --nproc on the CPU: gloo processes
        ("cuda", 2, None, (2, 2)),  # one process per leased GPU
        ("cuda", 2, 2, (2, 2)),
    ],
)
def test_a_run_has_one_process_per_leased_gpu(device, gpus, nproc, expected):
    assert process_count({"device": device, "gpus": gpus}, nproc) == expected


def test_contradictory_gpu_settings_are_refused():
    with pytest.raises(ConfigError, match="train.device is cuda but train.gpus is 0"):
        process_count({"device": "cuda", "gpus": 0}, None)
    with pytest.raises(ConfigError, match="--nproc 3: a run trains with one process per GPU"):
        process_count({"device": "cuda", "gpus": 2}, 3)
    with pytest.raises(ConfigError, match="--nproc 0"):
        process_count({"device": "cpu", "gpus": 0}, 0)
