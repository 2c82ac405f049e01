"""The `bau` command line: one subcommand per pipeline step.

Each subcommand lives in the module that owns its logic and exposes two functions,
``add_arguments(parser)`` and ``main(args) -> int``. Modules are imported only for the
subcommand being run, so ``bau --help`` stays fast (no torch import).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bau import __version__
from bau.errors import BauError

# name -> (module, one-line help), in pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("bau.synth.cli", "generate the synthetic multi-domain re-ID benchmark"),
    "verify": ("bau.datasets.verify", "check dataset folders, images and counts; write a JSON report"),
    "splits": ("bau.datasets.splits", "write the seeded splits of GRID, iLIDS, PRID and VIPeR"),
    "config": ("bau.config", "validate a configuration file and print it resolved"),
    "train": ("bau.training.cli", "train a BAU model (CPU, one GPU or several)"),
    "evaluate": ("bau.evaluation.cli", "evaluate a checkpoint on a target dataset"),
    "extract": ("bau.evaluation.extract_cli", "extract normalised features of a folder of images"),
    "table": ("bau.report.tables", "build a result table (Markdown, CSV, LaTeX)"),
    "figure": ("bau.report.figures", "draw a result figure (PNG and PDF)"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bau",
        description="BAU person re-identification: datasets, training, evaluation, reports.",
    )
    parser.add_argument("--version", action="version", version=f"bau {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module).add_arguments(sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).main(args) or 0)
    except BauError as err:
        print(f"bau {args.command}: error: {err}", file=sys.stderr)
        return 2
