"""One trainer per run folder: a second `bau train` on the same folder stops at once, naming
the holder's pid; the lock dies with its holder, however it dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest

from bau.errors import TrainingError
from bau.training.lock import HELD_ENV, LOCK_NAME, held_by_parent, run_folder_lock
from tests.reliability.helpers import bau, bau_env, error_lines

HOLD = (
    "import sys, time; from bau.training.lock import run_folder_lock\n"
    "with run_folder_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(600)\n"
)


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run (as a running trainer does)."""
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True, env=bau_env())
    assert process.stdout.readline().strip() == "locked"
    yield run, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_a_second_trainer_is_refused_naming_the_holder(holder):
    run, process = holder
    result = bau("train", "--out", str(run), "--device", "cpu", "--set", "model.pretrained=none")
    assert result.returncode == 2
    assert error_lines(result) == [
        (
            f"bau train: error: {run} is in use by another bau train (pid {process.pid}, lock file {run / LOCK_NAME}). "
            f"Wait for it to finish or stop it (kill {process.pid}), then rerun the same command to resume"
        )
    ]
    assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME]  # nothing written by the refused one


def test_the_lock_dies_with_its_holder(holder):
    run, process = holder
    with pytest.raises(TrainingError, match=f"pid {process.pid}"), run_folder_lock(run):
        pass
    process.send_signal(signal.SIGKILL)
    process.wait()
    with run_folder_lock(run):  # released by the operating system
        assert (run / LOCK_NAME).read_text().split()[0] == str(os.getpid())
    assert not (run / LOCK_NAME).exists()  # removed by its holder on release


def test_torchrun_children_do_not_take_the_parents_lock(tmp_path, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.delenv(HELD_ENV, raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert not held_by_parent(run)
    with run_folder_lock(run):
        assert held_by_parent(run)  # what a child, which inherits the environment, sees
        # A child that took it anyway would be refused, not wait (no deadlock).
        child = subprocess.run(
            [sys.executable, "-c", HOLD, str(run)],
            check=False,
            capture_output=True,
            text=True,
            env=bau_env(),
            timeout=60,
        )
        assert child.returncode != 0 and "is in use by another bau train" in child.stderr
    assert not held_by_parent(run)
    monkeypatch.setenv("RANK", "1")  # another launcher: rank 0 takes the lock, the others do not
    assert held_by_parent(run)


def test_forked_children_do_not_keep_the_lock(tmp_path):
    # A DataLoader worker (a fork of the trainer) that outlives it must not hold the folder.
    run = tmp_path / "run"
    script = (
        "import os, sys, time\n"
        "from bau.training.lock import run_folder_lock\n"
        "with run_folder_lock(sys.argv[1]):\n"
        "    if os.fork() == 0:\n"
        "        print(os.getpid(), flush=True)  # after the fork handlers ran\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(run)], stdout=subprocess.PIPE, text=True, env=bau_env()
    )
    child = int(parent.stdout.readline())
    try:
        parent.send_signal(signal.SIGKILL)  # the child lives on
        parent.wait()
        os.kill(child, 0)  # still running
        with run_folder_lock(run):
            pass
    finally:
        if parent.poll() is None:
            parent.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
