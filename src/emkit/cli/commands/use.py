"""Commands that use a saved model: ``predict``, ``score``, ``sample``, ``inspect``."""

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from ..._atomic import atomic_write
from ...backends.dask_backend import is_dask_array
from ..application import CliError, _say, _stdout, app
from ..inputs import (
    _aux,
    _check_features,
    _check_options,
    _check_out_path,
    _family_of,
    _feature_levels,
    _feature_names,
    _load_model,
    _unknown_levels,
    _read_inputs,
)
from ..options import (
    MODEL_DATA_OPTIONS,
    DataArg,
    IdColOpt,
    JsonOpt,
    ModelArg,
    SeedOpt,
    TrialsOpt,
    added_options,
)
from ..scale import scaled, spread, write_rows
from ..views import _fmt, _model_dict, _print_json, _print_model

def _missing_cells(model, drop_missing: bool):
    """How to read missing cells for ``model``: kept (NaN) when it integrates them out."""
    if not drop_missing and getattr(model, "missing", "error") == "marginalize":
        return "keep"
    return drop_missing


def _emit(text: str, out: Path | None) -> bool:
    """Write ``text`` to standard output, or atomically to ``out``; True when a file was written."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return False
    atomic_write(out, lambda fh: fh.write(text.encode("utf-8")))
    return True


def _model_and_inputs(model_path, data, columns=None, trials=None, trials_column=None,
                      drop_missing=False, id_column=None):
    """The saved model, DATA's columns it was fitted on, and the side-data keywords.

    Text columns are coded with the labels the model was fitted with; a label
    it never saw is an error naming it (a missing cell when the model was
    fitted with --unknown missing).  DATA read in chunks (or any DATA on a
    cluster) comes back as a dask array.
    """
    model = _load_model(model_path)
    names = getattr(model, "feature_names_", None)
    inputs = _read_inputs(data, columns, trials_column=trials_column, id_column=id_column,
                          drop_missing=_missing_cells(model, drop_missing),
                          default_names=list(names) if names is not None else None,
                          levels=_feature_levels(model), unknown=_unknown_levels(model))
    _check_features(model, inputs, data)
    inputs.X = spread(inputs.X)
    return model, inputs, _aux(model, inputs, trials)


#: adds --columns, --trials, --trials-column and --drop-missing to a command applying a saved
#: model to DATA; it gets them as keywords for :func:`_model_and_inputs`
model_data = added_options(MODEL_DATA_OPTIONS, pass_on=True)


def _csv_cell(text: str) -> str:
    """A CSV cell: quoted when it holds a comma, a quote or a line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _predict_csv(header: list[str], ids, columns: list) -> str:
    """CSV text: the header, then one row per data row (the id first when given)."""
    lines = [",".join(_csv_cell(h) for h in header)]
    cells = [[_csv_cell(i) for i in ids]] if ids is not None else []
    cells += columns
    lines += [",".join(row) for row in zip(*cells, strict=True)]
    return "\n".join(lines) + "\n"


@app.command()
@scaled
@model_data
def predict(
    model_path: ModelArg,
    data: DataArg,
    proba: Annotated[bool, typer.Option("--proba", help="Write each row's probability of every component (a column each) instead of its label.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write to this file (CSV text, or .npy without ids) instead of stdout.")] = None,
    id_column: IdColOpt = None,
    **data_options,
) -> None:
    """Most likely component (or --proba: probabilities) of every row of DATA, as CSV with a
    header: the --id-column first when given, then 'label' (or a column per component).

    Input read in chunks (or on a cluster) is predicted and written block by block."""
    _check_out_path(out, "--out")
    npy = out is not None and out.suffix.lower() == ".npy"
    if npy and id_column is not None:
        raise CliError(f"--out {out}: a .npy file holds numbers only, not the --id-column; "
                       "write CSV (for example --out labels.csv)")
    model, inputs, aux = _model_and_inputs(model_path, data, id_column=id_column, **data_options)
    if is_dask_array(inputs.X):  # lazy predictions, computed and written one block at a time
        result = model.predict_proba(inputs.X, **aux) if proba else model.predict(inputs.X, **aux)
        n = write_rows(result, out, proba)
        if out is not None:
            _say(f"wrote {n} {'rows of probabilities' if proba else 'labels'} to {out}")
        return
    if proba:
        result = model.predict_proba(inputs.X, **aux)
        header = [f"component_{k}" for k in range(result.shape[1])]
        body = [[f"{p:.6g}" for p in result[:, k]] for k in range(result.shape[1])]
    else:
        result = model.predict(inputs.X, **aux)
        header = ["label"]
        body = [[str(int(v)) for v in result]]
    if npy:
        atomic_write(out, lambda fh: np.save(fh, result, allow_pickle=False))
    else:
        if id_column is not None:
            header = [id_column] + header
        if not _emit(_predict_csv(header, inputs.ids, body), out):
            return
    what = "rows of probabilities" if proba else "labels"
    _say(f"wrote {len(result)} {what} to {out}")


@app.command()
@scaled
@model_data
def score(
    model_path: ModelArg,
    data: DataArg,
    as_json: JsonOpt = False,
    **data_options,
) -> None:
    """Log-likelihood of DATA under the model, with BIC and AIC."""
    model, inputs, aux = _model_and_inputs(model_path, data, **data_options)
    n = int(inputs.X.shape[0])
    summary = model._fit_summary(inputs.X, **aux)  # one pass over the data
    mean = summary["log_likelihood"] / n
    result = {"n_samples": n, "mean_log_likelihood": mean, "log_likelihood": summary["log_likelihood"],
              "bic": summary["bic"], "aic": summary["aic"]}
    if as_json:
        _print_json(result)
        return
    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("rows", str(n))
    t.add_row("mean log-likelihood per row", _fmt(mean, 8))
    t.add_row("total log-likelihood", _fmt(mean * n, 10))
    t.add_row("BIC", _fmt(result["bic"], 10))
    t.add_row("AIC", _fmt(result["aic"], 10))
    _stdout().print(t)


@app.command()
def sample(
    model_path: ModelArg,
    n: Annotated[int, typer.Option("-n", "--n-samples", min=1, metavar="N", help="Number of rows to draw.")] = 100,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    labels: Annotated[bool, typer.Option("--labels", help="Add a 'component' column with each row's component.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write CSV to this file instead of stdout.")] = None,
) -> None:
    """Draw N rows from the model, as CSV with a header."""
    _check_out_path(out, "--out")
    model = _load_model(model_path)
    family = _family_of(model)
    _check_options(family, trials=trials)
    kwargs = {} if trials is None else {family.side_data: int(trials)}
    if family.side_data is not None and trials is None and \
            model.get_params().get(family.side_data) is None:
        raise CliError(f"this {family.name} model was fitted with per-row {family.side_data_text}:"
                       " give --trials N")
    model.random_state = seed
    X, y = model.sample(n, **kwargs)
    order = np.random.default_rng(seed).permutation(n)
    X, y = X[order], y[order]
    names = _feature_names(model)
    header = names + (["component"] if labels else [])
    fitted = model._fitted_family()
    integer = [fitted.feature_family(j).data_kind == "discrete" for j in range(len(names))]
    levels = _feature_levels(model)
    text = [levels.get(n) for n in names]
    rows = [",".join(_csv_cell(h) for h in header)]
    for x, k in zip(X, y, strict=True):
        cells = [_csv_cell(t[int(v)]) if t is not None else str(int(v)) if i else f"{v:.10g}"
                 for v, i, t in zip(x, integer, text, strict=True)]
        if labels:
            cells.append(str(int(k)))
        rows.append(",".join(cells))
    if _emit("\n".join(rows) + "\n", out):
        _say(f"wrote {n} rows to {out}")


@app.command()
def inspect(
    model_path: ModelArg,
    as_json: JsonOpt = False,
) -> None:
    """Print a saved model's parameters."""
    model = _load_model(model_path)
    if as_json:
        _print_json(_model_dict(model))
    else:
        _print_model(model, [f"file {model_path} ({model_path.stat().st_size} bytes)"])
