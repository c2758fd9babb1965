"""Choices and reusable argument and option declarations of the commands."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

_FAMILY_CLASSES = {
    "gaussian": "GaussianMixture",
    "bernoulli": "BernoulliMixture",
    "binomial": "BinomialMixture",
    "poisson": "PoissonMixture",
    "categorical": "CategoricalMixture",
}
_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class FamilyName(str, Enum):
    """Component families the command line can fit."""

    gaussian = "gaussian"
    bernoulli = "bernoulli"
    binomial = "binomial"
    poisson = "poisson"
    categorical = "categorical"


class CovarianceName(str, Enum):
    """Covariance types of Gaussian components."""

    full = "full"
    tied = "tied"
    diag = "diag"
    spherical = "spherical"


class CriterionName(str, Enum):
    """Information criteria for model selection."""

    bic = "bic"
    aic = "aic"


DataArg = Annotated[str, typer.Argument(metavar="DATA", show_default=False,
                                        help="CSV/TSV (header optional), Parquet or .npy file; '-' reads CSV from stdin.")]
ModelArg = Annotated[Path, typer.Argument(metavar="MODEL", show_default=False,
                                          help="Model file written by 'emkit fit --out' or 'emkit select --out'.")]
ColumnsOpt = Annotated[str | None, typer.Option("--columns", metavar="a,b",
                                                help="Feature columns by name or 0-based index (default: all others).")]
TrialsOpt = Annotated[int | None, typer.Option("--trials", min=0, metavar="N",
                                               help="Binomial: number of trials of every row.")]
TrialsColOpt = Annotated[str | None, typer.Option("--trials-column", metavar="c",
                                                  help="Binomial: column holding each row's number of trials.")]
DropOpt = Annotated[bool, typer.Option("--drop-missing",
                                       help="Drop rows with missing, NaN or inf cells (with a warning) instead of failing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", metavar="S", help="Random seed for reproducible results.")]
NInitOpt = Annotated[int, typer.Option("--n-init", min=1, metavar="N", help="Initialisations per fit; the best is kept.")]
MaxIterOpt = Annotated[int, typer.Option("--max-iter", min=1, metavar="N", help="Maximum EM iterations per initialisation.")]
TolOpt = Annotated[float, typer.Option("--tol", min=0.0, metavar="T",
                                       help="Stop when the mean log-likelihood per row changes by less.")]
WeightsColOpt = Annotated[str | None, typer.Option("--weights-column", metavar="w",
                                                   help="Column of non-negative row weights.")]
