"""``emkit select``: fit many candidates and choose one by an information criterion."""

from pathlib import Path
from typing import Annotated

import typer

from ..application import CliError, _say, _stdout, app
from ..inputs import (
    _check_matplotlib,
    _check_out_path,
    _estimator_class,
    _parse_components,
    _parse_covariances,
    _read_inputs,
    _save_model,
    _trials_kwargs,
)
from ..options import (
    ColumnsOpt,
    CriterionName,
    DataArg,
    DropOpt,
    FamilyName,
    JsonOpt,
    MaxIterOpt,
    NInitOpt,
    SeedOpt,
    TolOpt,
    TrialsColOpt,
    TrialsOpt,
    WeightsColOpt,
)
from ..progress import _select_progress
from ..views import _candidates_json, _model_dict, _print_json, _print_model, _select_table

def _run_select(X, weights, fit_params, *, components, covariances, criterion, family, n_init,
                seed, max_iter, tol):
    from ...selection import select_model

    total = len(components) * (len(covariances) if family == "gaussian" else 1)
    with _select_progress(total) as callback:
        return select_model(
            X, n_components=components, covariance_types=covariances, criterion=criterion,
            n_init=n_init, random_state=seed, sample_weight=weights, family=family,
            max_iter=max_iter, tol=tol, callback=callback, fit_params=fit_params or None,
        )


@app.command()
def select(
    data: DataArg,
    components: Annotated[str, typer.Option("--components", "-k", metavar="RANGE",
                                            help="Numbers of components to try: 1-8, 3 or 1,2,4.")] = "1-6",
    covariance: Annotated[str, typer.Option("--covariance", metavar="all|full,tied,...",
                                            help="Gaussian covariance types to try.")] = "all",
    criterion: Annotated[CriterionName, typer.Option("--criterion", help="Information criterion (lower is better).")] = CriterionName.bic,
    family: Annotated[FamilyName, typer.Option("--family", help="Component family.")] = FamilyName.gaussian,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    weights_column: WeightsColOpt = None,
    n_init: NInitOpt = 1,
    max_iter: MaxIterOpt = 100,
    tol: TolOpt = 1e-3,
    seed: SeedOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="PNG",
                                              help="Draw the criterion curve into this PNG.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="MODEL",
                                             help="Save the chosen model to this file.")] = None,
    drop_missing: DropOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit every candidate mixture and choose one by BIC or AIC."""
    fam = family.value
    ks = _parse_components(components)
    covs = _parse_covariances(covariance)
    if fam != "gaussian" and covariance.strip().lower() != "all":
        raise CliError("--covariance applies to the gaussian family only")
    _trials_kwargs(fam, trials, trials_column)
    if fam == "binomial" and trials is None and trials_column is None:
        raise CliError("the binomial family needs the number of trials: --trials N or --trials-column c")
    _estimator_class(fam)
    _check_out_path(out, "--out")
    _check_out_path(plot, "--plot")
    if plot is not None:
        _check_matplotlib()
    inputs = _read_inputs(data, columns, weights_column=weights_column, trials_column=trials_column,
                          drop_missing=drop_missing)
    fit_params = {}
    if inputs.trials is not None:
        fit_params["n_trials"] = inputs.trials
    elif trials is not None:
        fit_params["n_trials"] = int(trials)
    best, table = _run_select(inputs.X, inputs.weights, fit_params, components=ks,
                              covariances=covs, criterion=criterion.value, family=fam,
                              n_init=n_init, seed=seed, max_iter=max_iter, tol=tol)
    best.feature_names_ = list(inputs.names)
    if out is not None:
        _save_model(best, out)
    if plot is not None:
        _save_criterion_plot(table, plot)
    best_row = next(r for r in table if r.get("best"))
    if as_json:
        _print_json({
            "criterion": criterion.value,
            "family": fam,
            "n_samples": int(inputs.X.shape[0]),
            "best": {**_candidates_json([best_row])[0], "model": _model_dict(best)},
            "candidates": _candidates_json(table),
        })
    else:
        out_console = _stdout()
        out_console.print(_select_table(table, title=f"{len(table)} candidates by "
                                        f"{criterion.value.upper()} (lower is better)"))
        out_console.print()
        _print_model(best)
    if out is not None:
        _say(f"saved the chosen model to {out}")
    if plot is not None:
        _say(f"wrote the criterion plot to {plot}")


def _save_criterion_plot(table, path: Path) -> None:
    from matplotlib.figure import Figure

    from ...plotting import plot_criterion
    from ...plotting._common import save_png

    fig = Figure(figsize=(8, 6), dpi=100)
    plot_criterion(table, ax=fig.add_subplot())
    fig.tight_layout()
    save_png(fig, path, 100)
