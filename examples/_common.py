"""Shared by the example scripts: the --small switch and the folder for their plots."""

import argparse
from pathlib import Path


def options(description: str):
    """``--small`` (a quick run, as the test suite uses) and ``--out DIR`` (where plots go)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--small", action="store_true", help="a smaller, quicker run")
    parser.add_argument("--out", type=Path, default=Path("emkit-examples"),
                        help="folder for the plots (default: ./emkit-examples)")
    parser.add_argument("--no-plots", action="store_true", help="draw no plots")
    args = parser.parse_args()
    if not args.no_plots:
        args.out.mkdir(parents=True, exist_ok=True)
    return args


def save(fig, args, name: str) -> None:
    """Save a matplotlib figure into the output folder and say where."""
    if args.no_plots:
        return
    path = args.out / name
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")
