"""Choices and reusable argument and option declarations of the commands."""

import functools
import inspect
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .. import registry


def _variant_choices(option: str) -> list[str]:
    """Values of the constructor parameter that ``option`` sets in the families that vary it."""
    out: dict = {}
    for fam in registry.families().values():
        if fam.variant_param is not None and fam.cli_params.get(option) == fam.variant_param:
            out.update(dict.fromkeys(fam.variants))
    return list(out)


#: component families the command line can fit (the registry's names)
FamilyName = Enum("FamilyName", {**{n: n for n in registry.families()}, "auto": "auto"}, type=str)
#: values of ``--covariance`` (the variants of the families that take it)
CovarianceName = Enum("CovarianceName", {v: v for v in _variant_choices("covariance")}, type=str)


class MissingName(str, Enum):
    """What a missing cell means to emkit fit."""

    error = "error"
    marginalize = "marginalize"
    drop = "drop"


class UnknownName(str, Enum):
    """What a category unseen at fit means when predicting."""

    error = "error"
    missing = "missing"


class CriterionName(str, Enum):
    """Information criteria for model selection."""

    bic = "bic"
    aic = "aic"
    icl = "icl"


DataArg = Annotated[str, typer.Argument(metavar="DATA", show_default=False,
                                        help="CSV/TSV (header optional), Parquet or .npy file, a directory or glob of Parquet files; '-' reads CSV from stdin.")]
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
IdColOpt = Annotated[str | None, typer.Option(
    "--id-column", metavar="c", show_default=False,
    help="Column of row ids (text allowed; written as in the file): not a feature; predict writes it before the labels.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, metavar="N", help="Run on a local dask.distributed cluster of N worker processes.")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", help="Run on the dask.distributed cluster at ADDRESS (tcp://host:port).")]
ChunkRowsOpt = Annotated[int | None, typer.Option(
    "--chunk-rows", min=1, metavar="N",
    help="Read a .npy or Parquet file in blocks of N rows (.npy) or row groups, never whole.  "
         "Parquet directories and globs, and .npy files over 256 MiB, are always read in blocks.")]
WeightsColOpt = Annotated[str | None, typer.Option("--weights-column", metavar="w",
                                                   help="Column of non-negative row weights.")]


class AccelerationName(str, Enum):
    """EM acceleration of emkit fit."""

    squarem = "squarem"
    none = "none"


def _engine_default(name: str):
    from ..mixture._factory import ENGINE_PARAMS

    return dict(ENGINE_PARAMS)[name]


#: the estimators' defaults, which emkit fit shares
FIT_MAX_ITER = _engine_default("max_iter")
FIT_TOL = _engine_default("tol")

AccelerationOpt = Annotated[AccelerationName | None, typer.Option(
    "--acceleration", show_default=False,
    help="SQUAREM extrapolation of EM steps, or none (plain EM).  [default: squarem]")]
InitOpt = Annotated[Path | None, typer.Option(
    "--init", metavar="JSON", show_default=False,
    help='Start from these values: a JSON object such as {"weights": [0.5, 0.5], '
         '"means": [[0], [1]], "covariances": [[[4]], [[4]]]} (or "probs", "rates").')]
FixedOpt = Annotated[str | None, typer.Option(
    "--fixed", metavar="weights,...", show_default=False,
    help="Parameters held at their starting values (comma-separated), e.g. weights.")]
TraceOpt = Annotated[bool, typer.Option(
    "--trace", help="Print every EM iteration: log-likelihood, change and, for small models, "
                    "the parameters (JSON lines with --json).")]
PlotHistoryOpt = Annotated[Path | None, typer.Option(
    "--plot-history", metavar="PNG", show_default=False,
    help="Draw the log-likelihood of every EM iteration into this PNG.")]


def _remember(name: str):
    """An option callback keeping the value for :func:`~emkit.cli.inputs._read_inputs`."""
    def callback(value):
        from .application import _session

        _session.text_format[name] = value
        return value

    return callback


DelimiterOpt = Annotated[str | None, typer.Option(
    "--delimiter", metavar="C", show_default=False, callback=_remember("delimiter"),
    help="Delimiter of a text DATA file: a character, 'tab' or 'space'.  [default: sniffed]")]
DecimalOpt = Annotated[str | None, typer.Option(
    "--decimal", metavar=".|,", show_default=False, callback=_remember("decimal"),
    help="Decimal mark of a text DATA file.  [default: ',' when numbers such as 1,5 appear "
         "and the delimiter is not ',']")]


def added_options(options: dict, use=None, pass_on: bool = False):
    """A decorator adding ``options`` to a command's signature, after its own parameters.

    ``options`` maps a parameter name to its ``(annotation, default)``; typer
    reads them from the signature like the command's own.  With ``pass_on``
    the command gets them as keywords (its ``**kwargs``, left out of the
    signature typer reads); otherwise it is called without them.  ``use``,
    when given, is a context manager called with their values (by name)
    around the command.
    """
    def decorate(command):
        sig = inspect.signature(command)
        own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        extra = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                   annotation=annotation)
                 for name, (annotation, default) in options.items()]

        @functools.wraps(command)
        def run(*args, **kwargs):
            values = {name: kwargs.get(name, default) if pass_on else kwargs.pop(name, default)
                      for name, (_, default) in options.items()}
            if use is None:
                return command(*args, **kwargs)
            with use(**values):
                return command(*args, **kwargs)

        run.__signature__ = sig.replace(parameters=[*own, *extra])
        run.__annotations__ = {**command.__annotations__,
                               **{name: annotation for name, (annotation, _) in options.items()}}
        return run

    return decorate


#: --delimiter and --decimal of a command reading a text DATA file (their callbacks keep them)
TEXT_OPTIONS = {"delimiter": (DelimiterOpt, None), "decimal": (DecimalOpt, None)}
#: what picks the rows and columns of DATA that a saved model is applied to
MODEL_DATA_OPTIONS = {"columns": (ColumnsOpt, None), "trials": (TrialsOpt, None),
                      "trials_column": (TrialsColOpt, None), "drop_missing": (DropOpt, False)}
#: --workers, --scheduler and --chunk-rows of a command that can run out of core or on a cluster
SCALE_OPTIONS = {"workers": (WorkersOpt, None), "scheduler": (SchedulerOpt, None),
                 "chunk_rows": (ChunkRowsOpt, None)}
