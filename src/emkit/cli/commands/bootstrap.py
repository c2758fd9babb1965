"""``emkit bootstrap``: standard errors of a saved model's parameters, or the bootstrap LRT."""

from enum import Enum
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from ..application import _say, _stdout, app
from ..options import DataArg, JsonOpt, ModelArg, SeedOpt
from ..views import _fmt, _print_json
from .use import _model_and_inputs, model_data


class KindName(str, Enum):
    """Resampling schemes of emkit bootstrap."""

    nonparametric = "nonparametric"
    parametric = "parametric"
    weighted = "weighted"


def _label(name: str, index: tuple) -> str:
    return name if not index else f"{name}[{','.join(str(i + 1) for i in index)}]"


def _se_rows(result) -> list[dict]:
    rows = []
    for name, est in result.estimates.items():
        for index in np.ndindex(est.shape):
            rows.append({"parameter": _label(name, index), "estimate": float(est[index]),
                         "std_error": float(result.std_errors[name][index]),
                         "ci_lower": float(result.ci_lower[name][index]),
                         "ci_upper": float(result.ci_upper[name][index])})
    return rows


def _print_se(result) -> None:
    pct = f"{100 * result.level:g}%"
    t = Table(title=f"{result.kind} bootstrap, {result.n_fitted} of {result.n_boot} replicates "
                    f"refitted (indices 1-based)")
    for col in ("parameter", "estimate", "std. error", f"{pct} lower", f"{pct} upper"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for r in _se_rows(result):
        t.add_row(r["parameter"], _fmt(r["estimate"], 6), _fmt(r["std_error"], 4),
                  _fmt(r["ci_lower"], 6), _fmt(r["ci_upper"], 6))
    _stdout().print(t)


def _print_lrt(result) -> None:
    t = Table(title=f"bootstrap likelihood-ratio tests, {result.n_boot} replicates each")
    for col in ("K", "vs K+1", "log-lik. K", "LRTS", "p-value", "failed"):
        t.add_column(col, justify="right")
    for i, K in enumerate(result.n_components):
        t.add_row(str(K), str(K + 1), _fmt(result.log_likelihood[i], 10),
                  _fmt(result.statistic[i], 6), _fmt(result.p_value[i], 4),
                  str(int(result.n_failed[i])))
    _stdout().print(t)
    _stdout().print(f"first K not rejected at level {result.level:g}: {result.selected}")


@app.command()
@model_data
def bootstrap(
    model_path: ModelArg,
    data: DataArg,
    n_boot: Annotated[int, typer.Option("--n-boot", "-B", min=1, metavar="B",
                                        help="Bootstrap replicates (per test with --lrt).")] = 999,
    kind: Annotated[KindName, typer.Option("--kind", help="Resampling: rows with replacement, draws from the model, or Exp(1) row weights.")] = KindName.nonparametric,
    level: Annotated[float | None, typer.Option("--level", metavar="L", show_default=False,
                                                help="Interval coverage [default: 0.95], or with --lrt the test level [default: 0.05].")] = None,
    lrt: Annotated[bool, typer.Option("--lrt", help="Test K against K+1 components (K = 1, 2, ...) with the model's settings instead.")] = False,
    max_components: Annotated[int | None, typer.Option("--max-components", min=1, metavar="K",
                                                       help="With --lrt: test every K up to this one (default: stop at the first K not rejected, at most 8).")] = None,
    seed: SeedOpt = 0,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", metavar="N", help="Parallel workers for the refits.")] = None,
    as_json: JsonOpt = False,
    **data_options,
) -> None:
    """Bootstrap standard errors and percentile intervals of MODEL's parameters on DATA (the data
    it was fitted on), or with --lrt the bootstrap likelihood-ratio test for the number of
    components."""
    from ... import _bootstrap, _bootstrap_lrt

    if max_components is not None and not lrt:
        raise typer.BadParameter("--max-components needs --lrt", param_hint="--max-components")
    if jobs is not None and jobs == 0:
        raise typer.BadParameter("must be a positive number or -1 (all cores)", param_hint="--jobs")
    model, inputs, aux = _model_and_inputs(model_path, data, **data_options)
    if lrt:
        if kind is not KindName.nonparametric:
            raise typer.BadParameter("--lrt always draws from the fitted models (parametric)",
                                     param_hint="--kind")
        result = _bootstrap_lrt.bootstrap_lrt(
            inputs.X, model, max_components=max_components, n_boot=n_boot,
            level=0.05 if level is None else level, random_state=seed, n_jobs=jobs, **aux)
        if as_json:
            _print_json(result.to_dict())
        else:
            _print_lrt(result)
        return
    result = _bootstrap.bootstrap(model, inputs.X, n_boot, kind=kind.value,
                                  level=0.95 if level is None else level, random_state=seed,
                                  n_jobs=jobs, **aux)
    if as_json:
        out = result.to_dict()
        out["table"] = _se_rows(result)
        _print_json(out)
        return
    _print_se(result)
    if result.n_failed:
        _say(f"{result.n_failed} of {result.n_boot} replicates failed and are left out "
             f"(first: {result.failures[0]})")
    if result.n_unconverged:
        _say(f"{result.n_unconverged} refitted replicates stopped at max_iter (kept)")
