"""`bau synth`: generate the synthetic benchmark, or draw its preview grid."""

from __future__ import annotations

import argparse

from bau.synth.layouts import SCALES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="DIR", help="data root to write the nine dataset folders into")
    target.add_argument("--preview", metavar="FILE.png", help="draw a labelled sample grid instead")
    parser.add_argument(
        "--scale",
        choices=list(SCALES),
        default="tiny",
        help="dataset sizes: tiny (tests), cpu (the default run), small, medium (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all available cores)")


def main(args: argparse.Namespace) -> int:
    if args.seed < 0:
        from bau.errors import ConfigError

        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    if args.preview:
        from bau.synth.preview import write_preview

        write_preview(args.preview, seed=args.seed)
        print(f"wrote {args.preview}")
        return 0
    from bau.synth.generator import generate

    counts = generate(args.out, scale=args.scale, seed=args.seed, workers=args.workers)
    print(
        f"wrote {sum(counts.values())} images ({args.scale}, seed {args.seed}) to {args.out}: "
        + ", ".join(f"{name} {n}" for name, n in counts.items())
    )
    return 0
