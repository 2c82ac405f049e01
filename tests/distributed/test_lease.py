"""GPU leases with a pretended device count: never a device held twice, killed holders free theirs."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from bau.distributed.lease import lease_for_device, lease_gpus
from bau.errors import BauError

HOLDER = textwrap.dedent(
    """
    import json, os, sys, time
    from bau.distributed.lease import lease_gpus
    count, hold, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    lease = lease_gpus(count, lock_dir=os.environ["LOCKS"], poll=0.02, timeout=60)
    start = time.time()
    print("held", flush=True)
    time.sleep(hold)
    end = time.time()
    record = {"devices": lease.devices, "start": start, "end": end,
              "visible": os.environ["CUDA_VISIBLE_DEVICES"]}
    with open(out, "w") as fh:
        json.dump(record, fh)
    """
)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("BAU_DEVICE_COUNT", "4")
    monkeypatch.setenv("LOCKS", str(tmp_path / "locks"))
    return dict(os.environ)


def _spawn(env, count, hold, out):
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(count), str(hold), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_concurrent_jobs_never_share_a_device(env, tmp_path):
    outs = [tmp_path / f"job{i}.json" for i in range(6)]
    procs = [_spawn(env, 2, 0.4, out) for out in outs]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    records = [json.loads(out.read_text()) for out in outs]
    for rec in records:
        assert len(set(rec["devices"])) == 2
        assert rec["visible"] == ",".join(map(str, rec["devices"]))
    for i, a in enumerate(records):
        for b in records[i + 1 :]:
            overlap = a["start"] < b["end"] and b["start"] < a["end"]
            if overlap:
                assert not set(a["devices"]) & set(b["devices"]), (a, b)
    # 6 jobs of 2 on 4 devices run at most 2 at a time: three waves of 0.4 s at least.
    span = max(r["end"] for r in records) - min(r["start"] for r in records)
    assert span >= 3 * 0.4 - 0.05


def test_killed_holder_frees_its_devices(env, tmp_path):
    holder = _spawn(env, 4, 60, tmp_path / "never.json")
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(BauError, match="no 1 free GPU"):
        lease_gpus(1, lock_dir=env["LOCKS"], timeout=0, set_env=False)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with lease_gpus(4, lock_dir=env["LOCKS"], timeout=5, set_env=False) as lease:
        assert lease.devices == [0, 1, 2, 3]


def test_release_makes_devices_available_again(env):
    first = lease_gpus(3, lock_dir=env["LOCKS"], set_env=False)
    second = lease_gpus(1, lock_dir=env["LOCKS"], set_env=False, timeout=0)
    assert second.devices == [3] and first.devices == [0, 1, 2]
    first.release()
    third = lease_gpus(2, lock_dir=env["LOCKS"], set_env=False, timeout=0)
    assert third.devices == [0, 1]


def test_scheduler_assignment_is_respected(env, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    lease = lease_gpus(2, lock_dir=env["LOCKS"])
    assert lease.assigned_by_scheduler and lease.devices == [0, 1]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5,7"
    with pytest.raises(BauError, match="assigns 2 GPU"):
        lease_gpus(3, lock_dir=env["LOCKS"])


def test_more_gpus_than_the_machine_has(env):
    with pytest.raises(BauError, match="this machine has 4"):
        lease_gpus(5, lock_dir=env["LOCKS"])


def test_cpu_job_hides_every_gpu(env, monkeypatch):
    lease = lease_gpus(0, lock_dir=env["LOCKS"])
    assert lease.devices == [] and os.environ["CUDA_VISIBLE_DEVICES"] == ""
    lease.release()
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # put back as it was


@pytest.mark.parametrize(
    ("device", "visible"),
    [("auto", "0"), ("cuda", "0"), ("cpu", ""), ("cuda:1", None)],
)
def test_one_gpu_jobs_lease_what_their_device_asks_for(env, monkeypatch, device, visible):
    monkeypatch.setenv("BAU_GPU_LOCK_DIR", env["LOCKS"])
    with lease_for_device(device):
        assert os.environ.get("CUDA_VISIBLE_DEVICES") == visible
        if visible == "0":  # device 0 is held: another job (its own environment) gets device 1
            with monkeypatch.context() as other_process:
                other_process.delenv("CUDA_VISIBLE_DEVICES")
                assert lease_gpus(1, lock_dir=env["LOCKS"], set_env=False, timeout=0).devices == [1]
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_auto_on_a_machine_without_gpus_hides_them(env, monkeypatch):
    monkeypatch.setenv("BAU_DEVICE_COUNT", "0")
    monkeypatch.setenv("BAU_GPU_LOCK_DIR", env["LOCKS"])
    with lease_for_device("auto") as lease:
        assert lease.devices == [] and os.environ["CUDA_VISIBLE_DEVICES"] == ""
