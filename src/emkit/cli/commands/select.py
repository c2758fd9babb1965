"""``emkit select``: fit many candidates and choose one by an information criterion."""

from pathlib import Path
from typing import Annotated

import typer

from ..application import _say, _stdout, app
from ..inputs import (
    _categories_for_labels,
    _check_matplotlib,
    _check_text_columns,
    _check_options,
    _check_out_path,
    _family,
    _parse_components,
    _expand_variants,
    _parse_variants,
    _read_inputs,
    _require_side_data,
    _save_model,
    _side_kwargs,
)
from ...selection import DEFAULTS
from ..options import (
    ColumnsOpt,
    CriterionName,
    DataArg,
    DropOpt,
    FamilyName,
    IdColOpt,
    JsonOpt,
    TrialsColOpt,
    TrialsOpt,
    WeightsColOpt,
)
from ..progress import _select_progress
from ..scale import on_cluster, scaled, spread
from ..views import _candidates_json, _criterion_grid, _model_dict, _print_json, _print_model, _select_table

#: "1-9": the components of selection.DEFAULTS as a --components range
_DEFAULT_COMPONENTS = f"{min(DEFAULTS['n_components'])}-{max(DEFAULTS['n_components'])}"
_DEFAULT_SEED = 0


def _run_select(X, weights, fit_params, *, family, seed, components=None, covariances=None,
                criterion=None, n_init=None, max_iter=None, tol=None, estimator_params=None):
    """select_model with a progress bar; every setting left None is selection.DEFAULTS'."""
    from ...selection import select_model

    components = list(DEFAULTS["n_components"]) if components is None else components
    variants = {} if covariances is None else {"covariance_types": covariances}
    total = len(components) * (len(covariances) if covariances is not None else 1)
    with _select_progress(total) as callback:
        return select_model(
            X, n_components=components, **variants, criterion=criterion or DEFAULTS["criterion"],
            n_init=n_init, random_state=seed, sample_weight=weights, family=family,
            max_iter=max_iter, tol=tol, callback=callback, fit_params=fit_params or None,
            estimator_params=estimator_params or None,
        )


@app.command()
@scaled
def select(
    data: DataArg,
    components: Annotated[str, typer.Option("--components", "-k", metavar="RANGE",
                                            help="Numbers of components to try: 1-8, 3 or 1,2,4.")] = _DEFAULT_COMPONENTS,
    covariance: Annotated[str, typer.Option("--covariance", metavar="default|all|sklearn|EEE,VVE,...",
                                            help="Gaussian covariance types to try: 'all' is mclust's "
                                                 "14 models (E,V for one feature), 'sklearn' and "
                                                 "'default' are full,tied,diag,spherical, or a list.")] = "default",
    criterion: Annotated[CriterionName, typer.Option("--criterion", help="Information criterion (lower is better).")] = CriterionName.bic,
    family: Annotated[FamilyName, typer.Option("--family", help="Component family.")] = FamilyName.gaussian,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    categories: Annotated[int | None, typer.Option(
        "--categories", min=1, metavar="C",
        help="Categorical: number of categories, the codes 0 .. C-1 (default: the distinct codes seen).")] = None,
    weights_column: WeightsColOpt = None,
    id_column: IdColOpt = None,
    n_init: Annotated[int | None, typer.Option(
        "--n-init", min=1, metavar="N",
        help="Initialisations per fit; the best is kept.  [default: the estimator's]")] = None,
    max_iter: Annotated[int | None, typer.Option(
        "--max-iter", min=1, metavar="N",
        help="Maximum EM iterations per initialisation.  [default: the estimator's]")] = None,
    tol: Annotated[float | None, typer.Option(
        "--tol", min=0.0, metavar="T",
        help="Convergence threshold of every fit.  [default: the estimator's]")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="S", help="Random seed (printed with the result).")] = _DEFAULT_SEED,
    plot: Annotated[Path | None, typer.Option(
        "--plot", metavar="PNG",
        help="Draw the criterion curves into this PNG: with mclust model names (--covariance "
             "all) mclust's BIC/ICL plot, one line per model in mclust's sign (higher is "
             "better); otherwise emkit's, lower is better, zoomed on the competitive models."
    )] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="MODEL",
                                             help="Save the chosen model to this file.")] = None,
    drop_missing: DropOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit every candidate mixture and choose one by BIC, AIC or ICL.

    The defaults are those of emkit.select_model and emkit demo, seeded with 0.
    """
    fam = _family(family.value)
    ks = _parse_components(components)
    if covariance.strip().lower() == "default":
        covs = _parse_variants(fam, "all")
        if covs is not None:
            covs = [c for c in DEFAULTS["covariance_types"] if c in fam.variants] or covs
    else:
        covs = _parse_variants(fam, covariance)
    _check_options(fam, trials=trials, trials_column=trials_column, categories=categories)
    _require_side_data(fam, trials, trials_column)
    settings = {fam.cli_params["categories"]: categories} if categories is not None else None
    _check_out_path(out, "--out")
    _check_out_path(plot, "--plot")
    if plot is not None:
        _check_matplotlib()
    inputs = _read_inputs(data, columns, weights_column=weights_column, trials_column=trials_column,
                          id_column=id_column, drop_missing=drop_missing)
    inputs.X = spread(inputs.X)
    if on_cluster():
        inputs.X = inputs.X.persist()  # once for every candidate fit
    _check_text_columns(fam, inputs)
    labelled = _categories_for_labels(fam, inputs, categories)
    if labelled is not None and categories is None:
        settings = {fam.cli_params["categories"]: labelled}
    fit_params = _side_kwargs(fam, inputs, trials)
    covs = _expand_variants(fam, covs, inputs.X.shape[1])
    best, table = _run_select(inputs.X, inputs.weights, fit_params, components=ks,
                              covariances=covs, criterion=criterion.value, family=fam.name,
                              n_init=n_init, seed=seed, max_iter=max_iter, tol=tol,
                              estimator_params=settings)
    _say(f"seed {seed} (set with --seed)")
    best.feature_names_ = list(inputs.names)
    if inputs.levels:
        best.feature_levels_ = {k: list(v) for k, v in inputs.levels.items()}
    if out is not None:
        _save_model(best, out)
    if plot is not None:
        _save_criterion_plot(table, plot)
    best_row = next(r for r in table if r.get("best"))
    if as_json:
        _print_json({
            "criterion": criterion.value,
            "family": fam.name,
            "n_samples": int(inputs.X.shape[0]),
            "seed": seed,
            "best": {**_candidates_json([best_row])[0], "model": _model_dict(best)},
            "candidates": _candidates_json(table),
        })
    else:
        out_console = _stdout()
        out_console.print(_select_table(table, title=f"{len(table)} candidates by "
                                        f"{criterion.value.upper()} (lower is better; seed {seed})"))
        out_console.print()
        other = "bic" if criterion.value == "icl" else "icl"
        out_console.print(_criterion_grid(
            table, other, title=f"{other.upper()} of every candidate (lower is better; "
            "* degenerate)"))
        out_console.print()
        _print_model(best)
    if out is not None:
        _say(f"saved the chosen model to {out}")
    if plot is not None:
        _say(f"wrote the criterion plot to {plot}")


def _save_criterion_plot(table, path: Path) -> None:
    from matplotlib.figure import Figure

    from ...plotting import plot_criterion, plot_model_criterion
    from ...plotting._common import save_png
    from ...plotting.diagnostics import MODEL_COLOURS

    fig = Figure(figsize=(8, 6), dpi=100)
    if all(r.get("covariance_type") in MODEL_COLOURS for r in table):
        plot_model_criterion(table, ax=fig.add_subplot())  # mclust's plot.mclustBIC
    else:
        plot_criterion(table, ax=fig.add_subplot())
    fig.tight_layout()
    save_png(fig, path, 100)
