"""``emkit fit``: fit one mixture."""

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..application import CliError, _say, app
from ..inputs import (
    _categories_for_labels,
    _check_matplotlib,
    _check_text_columns,
    _check_options,
    _check_out_path,
    _estimator_class,
    _family,
    _read_inputs,
    _require_side_data,
    _save_model,
    _side_kwargs,
)
from ..options import (
    FIT_MAX_ITER,
    FIT_TOL,
    AccelerationName,
    AccelerationOpt,
    ColumnsOpt,
    FixedOpt,
    InitOpt,
    PlotHistoryOpt,
    TraceOpt,
    CovarianceName,
    DataArg,
    DropOpt,
    FamilyName,
    IdColOpt,
    JsonOpt,
    UnknownName,
    MissingName,
    MaxIterOpt,
    NInitOpt,
    SeedOpt,
    TolOpt,
    TrialsColOpt,
    TrialsOpt,
    WeightsColOpt,
)
from ..progress import _fit_one, _report_interrupt
from ..scale import chunk_rows, on_cluster, scaled, spread
from ..views import _fmt, _print_json, _print_model, _model_dict

def _auto_model(inputs, components: int, column_family, covariance, missing, unknown, **engine):
    """A MixedMixture with a family per column (inferred, or as --column-family sets them);
    the table of families goes to standard error before fitting."""
    from ... import MixedMixture
    from ..columns import blocks_of, column_families, parse_column_families, print_families

    overrides = parse_column_families(column_family, inputs.names)
    families = column_families(inputs.X, inputs.names, overrides, inputs.levels)
    print_families(families, np.isnan(inputs.X).sum(axis=0))
    options = {j: {"categories": len(inputs.levels[name]) if name in inputs.levels else None,
                   "unknown": unknown}
               for j, name in enumerate(inputs.names)}
    blocks = blocks_of(families, getattr(covariance, "value", covariance), options)
    return MixedMixture(components, blocks=blocks,
                        missing="marginalize" if missing == MissingName.marginalize else "error",
                        n_init=engine["n_init"], max_iter=engine["max_iter"], tol=engine["tol"],
                        random_state=engine["seed"])


def _make_estimator(family: type, n_components: int, *, n_init: int, max_iter: int, tol: float,
                    seed: int | None, **options):
    """The family's estimator; ``options`` are command-line values by option name.

    Each option the family takes sets the constructor parameter it maps to
    (:attr:`~emkit.families.Family.cli_params`); giving one it does not take
    is an error.
    """
    _check_options(family, **options)
    kwargs = {"n_init": n_init, "max_iter": max_iter, "tol": tol, "random_state": seed}
    for option, value in options.items():
        if value is not None and option in family.cli_params:
            kwargs[family.cli_params[option]] = getattr(value, "value", value)
    return _estimator_class(family.name)(n_components, **kwargs)


def _engine_options(model, fam, inputs, acceleration, init, fixed, trace, as_json):
    """Apply --acceleration, --init and --fixed to ``model``; the --trace callback or None."""
    from ..starting import parse_fixed, starting_kwargs

    if fam is None and (init is not None or fixed is not None):
        raise CliError("--init and --fixed apply to a single --family, not --family auto")
    if acceleration is not None:
        model.set_params(acceleration=None if acceleration == AccelerationName.none
                         else acceleration.value)
    if fixed is not None:
        model.set_params(fixed=parse_fixed(fixed, model))
    if init is not None:
        starting_kwargs(model, init, inputs.X.shape[1])
    if not trace:
        return None
    from ..trace import Trace

    total = inputs.X.shape[0] if inputs.weights is None else float(np.sum(inputs.weights))
    return Trace(model, total, inputs.names, as_json)


#: rows of a chunked source that --plot draws
PLOT_ROWS = 20_000


@app.command()
@scaled
def fit(
    data: DataArg,
    components: Annotated[int, typer.Option("--components", "-k", min=1, metavar="K",
                                            help="Number of mixture components.")] = 2,
    family: Annotated[FamilyName, typer.Option("--family", help="Component family.")] = FamilyName.gaussian,
    covariance: Annotated[CovarianceName | None, typer.Option(
        "--covariance", help="Gaussian covariance type [default: full].", show_default=False)] = None,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    categories: Annotated[int | None, typer.Option("--categories", min=1, metavar="C",
                                                   help="Categorical: number of categories, the codes 0 .. C-1 (default: the distinct codes seen).")] = None,
    weights_column: WeightsColOpt = None,
    id_column: IdColOpt = None,
    n_init: NInitOpt = 1,
    max_iter: MaxIterOpt = FIT_MAX_ITER,
    tol: TolOpt = FIT_TOL,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="MODEL",
                                             help="Save the fitted model to this file.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="PNG",
                                              help="Draw the plot that fits the data into this PNG.")] = None,
    drop_missing: DropOpt = False,
    missing: Annotated[MissingName, typer.Option(
        "--missing", help="Missing cells (empty, NA): an error, integrated out under missingness "
        "at random (marginalize), or their rows dropped (drop).")] = MissingName.error,
    unknown: Annotated[UnknownName | None, typer.Option(
        "--unknown", show_default=False,
        help="A category seen only when predicting: an error, or (with --missing marginalize) "
             "a missing cell.  [default: error]")] = None,
    column_family: Annotated[list[str] | None, typer.Option(
        "--column-family", metavar="name=family",
        help="With --family auto: the family of a column (repeatable).")] = None,
    acceleration: AccelerationOpt = None,
    init: InitOpt = None,
    fixed: FixedOpt = None,
    trace: TraceOpt = False,
    plot_history: PlotHistoryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit one mixture to DATA and print its parameters."""
    from ...backends import sources

    drop = drop_missing or missing == MissingName.drop
    if unknown == UnknownName.missing and missing != MissingName.marginalize:
        raise CliError("--unknown missing treats an unseen category as a missing cell, which needs "
                       "--missing marginalize")
    unknown_value = None if unknown is None else unknown.value
    if family.value == "auto":
        fam = None
        if trials is not None or trials_column is not None or categories is not None:
            raise CliError("--family auto takes no --trials, --trials-column or --categories; "
                           "set a column's family with --column-family name=family")
        if sources.wants_chunks(data, chunk_rows()) or on_cluster():
            raise CliError(f"{data}: --family auto reads the table into memory to choose the "
                           "families; --workers, --scheduler, --chunk-rows and Parquet datasets "
                           "need a named --family")
        inputs = _read_inputs(data, columns, weights_column=weights_column, id_column=id_column,
                              drop_missing=("keep" if missing == MissingName.marginalize
                                            else drop))
        model = _auto_model(inputs, components, column_family, covariance, missing,
                            unknown_value, n_init=n_init, max_iter=max_iter, tol=tol, seed=seed)
    else:
        if column_family:
            raise CliError("--column-family applies to --family auto only")
        fam = _family(family.value)
        _check_options(fam, trials=trials, trials_column=trials_column)
    _check_out_path(out, "--out")
    _check_out_path(plot, "--plot")
    _check_out_path(plot_history, "--plot-history")
    if plot is not None or plot_history is not None:
        _check_matplotlib()
    if fam is not None:
        _check_options(fam, covariance=covariance, categories=categories)
        _require_side_data(fam, trials, trials_column)
        inputs = _read_inputs(data, columns, weights_column=weights_column,
                              trials_column=trials_column, id_column=id_column,
                              drop_missing="keep" if missing == MissingName.marginalize else drop)
        inputs.X = spread(inputs.X)
        _check_text_columns(fam, inputs)
        categories = _categories_for_labels(fam, inputs, categories)
        model = _make_estimator(fam, components, n_init=n_init, max_iter=max_iter, tol=tol,
                                seed=seed, covariance=covariance, trials=trials,
                                categories=categories, unknown=unknown_value)
        if missing == MissingName.marginalize:
            model.set_params(missing="marginalize")
    fit_kwargs = {fam.side_data: inputs.side} if inputs.side is not None else {}
    tracer = _engine_options(model, fam, inputs, acceleration, init, fixed, trace, as_json)
    interrupted = _fit_one(model, inputs.X, inputs.weights, fit_kwargs, max_iter, n_init,
                           trace=tracer)
    model.feature_names_ = list(inputs.names)
    if inputs.levels:
        model.feature_levels_ = {k: list(v) for k, v in inputs.levels.items()}
    if unknown_value is not None:
        model.unknown_levels_ = unknown_value

    n = int(inputs.X.shape[0])
    total = n if inputs.weights is None else float(np.sum(inputs.weights))  # lazy: one pass
    stats = {"n_samples": n, "mean_log_likelihood": float(model.lower_bound_),
             "log_likelihood": float(model.lower_bound_) * total}
    if inputs.weights is None:
        summary = model._fit_summary(inputs.X, **fit_kwargs)  # one pass for both criteria
        stats["bic"], stats["aic"] = summary["bic"], summary["aic"]
    stats["history"] = np.asarray(model.history_, dtype=np.float64)
    if out is not None:
        _save_model(model, out)
    if plot is not None and not interrupted:
        from ...backends.dask_backend import is_dask_array
        from ...plotting import plot_auto

        if is_dask_array(inputs.X):  # the plot's sample: the first rows, with their side data
            m = min(n, PLOT_ROWS)
            inputs.X = np.asarray(inputs.X[:m])
            if inputs.side is not None:
                inputs.side = np.asarray(inputs.side[:m])
        plot_auto(model, inputs.X, plot, feature_names=inputs.names, levels=inputs.levels,
                  **({} if fam is None else _side_kwargs(fam, inputs, trials)))
    if plot_history is not None and not interrupted:
        from ..trace import save_history_plot

        save_history_plot(model, plot_history)
    if as_json and trace:  # standard output is JSON lines: the trace, then the model
        from ..views import _jsonable
        import json

        typer.echo(json.dumps(_jsonable({**_model_dict(model), **stats})))
    elif as_json:
        _print_json({**_model_dict(model), **stats})
    else:
        line = f"{n} rows; total log-likelihood {_fmt(stats['log_likelihood'], 8)}"
        if "bic" in stats:
            line += f"; BIC {_fmt(stats['bic'], 8)}; AIC {_fmt(stats['aic'], 8)}"
        _print_model(model, [line])
    if out is not None and not interrupted:
        _say(f"saved the model to {out}")
    if plot is not None and not interrupted:
        _say(f"wrote the plot to {plot}")
    if plot_history is not None and not interrupted:
        _say(f"wrote the history plot to {plot_history}")
    if interrupted:
        _report_interrupt(model, out)
        raise typer.Exit(130)
