"""``bau train`` with one real fault injected, for the reliability tests.

    python -m tests.reliability.faulty_train FAULT [bau train arguments]

FAULT is ``none``; ``kill-mid-epoch`` (SIGKILL in the second iteration of epoch 2);
``kill-mid-save`` (SIGKILL when checkpoints/last.pth of epoch 2 is written but not yet renamed
into place: its temporary file is left behind); or ``disk-full-epoch-2`` (the disk reports
1000 bytes free from epoch 2's checkpoints on).
"""

from __future__ import annotations

import os
import signal
import sys
from collections import namedtuple


def main(fault: str, argv: list[str]) -> int:
    import bau.io
    from bau.cli import main as cli_main
    from bau.training.trainer import Trainer

    def die() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    if fault == "kill-mid-epoch":
        train_step = Trainer.train_step

        def train_step_then_die(self, batch, epoch, iteration):
            if (epoch, iteration) == (2, 2):
                die()
            return train_step(self, batch, epoch, iteration)

        Trainer.train_step = train_step_then_die
    elif fault == "kill-mid-save":
        fsync, saves = os.fsync, []

        def fsync_then_die(fd):
            fsync(fd)
            if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".last.pth."):
                saves.append(fd)
                if len(saves) == 2:
                    die()

        bau.io.os.fsync = fsync_then_die
    elif fault == "disk-full-epoch-2":
        disk_usage, save, full = bau.io.shutil.disk_usage, Trainer.save, []
        Usage = namedtuple("Usage", "total used free")

        def usage(path):
            real = disk_usage(path)
            return Usage(real.total, real.total - 1000, 1000) if full else real

        def save_on_a_full_disk(self, epoch):
            if epoch == 2:
                full.append(True)
            save(self, epoch)

        bau.io.shutil.disk_usage = usage
        Trainer.save = save_on_a_full_disk
    elif fault != "none":
        raise SystemExit(f"unknown fault {fault!r}")
    return cli_main(["train", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
