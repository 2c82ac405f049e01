"""Print the plan of a dry run as one JSON line (used by tests that run it in a separate
process with a private copy of bau, see helpers.dry_run_in):

    python -m tests.workflow.plan WORKDIR TARGET... [--configfile FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from tests.workflow.helpers import dry_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--configfile", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    plan = dry_run(args.workdir, args.targets, configfiles=args.configfile)
    jobs = [dataclasses.asdict(job) for job in plan.jobs]
    print(json.dumps({"jobs": jobs, "counts": plan.counts}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
