"""Shared helpers of the command-line tests: invoking ``emkit`` and making survey tables."""

import numpy as np
from typer.testing import CliRunner

from emkit import cli

runner = CliRunner()


def run(*args):
    """``emkit ARGS`` in-process; every argument is passed as its ``str``."""
    return runner.invoke(cli.app, [str(a) for a in args])


def ok(result):
    """``result`` after asserting its exit status is 0 (its output shown otherwise)."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def two_groups(rng, n):
    """Group membership (True with probability 0.5) and ages, N(30, 4) or N(55, 5) by group."""
    z = rng.random(n) < 0.5
    return z, np.where(z, rng.normal(30, 4, n), rng.normal(55, 5, n))


def blank(rng, cells, missing):
    """``cells`` with each one emptied with probability ``missing`` (one draw per cell)."""
    return ["" if rng.random() < missing else c for c in cells]
