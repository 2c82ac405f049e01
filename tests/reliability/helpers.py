"""Shared pieces of the reliability tests: `bau` as a user runs it (a separate process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bau_env() -> dict[str, str]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("WORLD_SIZE", None)
    env.pop("BAU_RUN_LOCK", None)
    return env


def bau(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``bau ARGS``: its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "bau", *args],
        check=False,
        capture_output=True,
        text=True,
        env=bau_env(),
        timeout=timeout,
    )


def faulty_train(fault: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``bau train ARGS`` with ``fault`` injected (tests.reliability.faulty_train)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.faulty_train", fault, *args],
        check=False,
        capture_output=True,
        text=True,
        env=bau_env(),
        cwd=REPO,
        timeout=timeout,
    )


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines of stderr that the CLI printed as its error (`bau CMD: error: ...`)."""
    return [line for line in result.stderr.splitlines() if ": error: " in line]
