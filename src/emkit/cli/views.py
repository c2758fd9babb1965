"""What the commands print: rich tables of models and candidates, and JSON."""

import json
import math

import numpy as np
from rich.table import Table
from rich.text import Text

from .._status import fit_status
from .application import _one_line, _stdout
from .inputs import _family_of, _feature_levels, _feature_names

def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _print_json(obj) -> None:
    _stdout().print(json.dumps(_jsonable(obj), indent=2), markup=False, soft_wrap=True,
                    highlight=False)


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def _fixed(v, decimals: int = 2) -> str:
    if v is None or not math.isfinite(float(v)):
        return "-"
    return f"{float(v):.{decimals}f}"


# --------------------------------------------------------------- model views
def _describe(model):
    return model._fitted_family().describe(model._fitted_params())


def _model_dict(model) -> dict:
    """JSON-ready description of a fitted model."""
    out = {
        "estimator": type(model).__name__,
        "family": _family_of(model).name,
        "n_components": int(model.n_components),
        "n_features": int(model.n_features_in_),
        "feature_names": _feature_names(model),
        "weights": model.weights_,
    }
    out.update(_describe(model).fields)
    labelled = _label_probabilities(model)
    if labelled:
        out["levels"] = {name: list(labels) for name, (labels, _) in labelled.items()}
        out["category_probabilities"] = {
            name: {label: probs[:, c] for c, label in enumerate(labels)}
            for name, (labels, probs) in labelled.items()}
    out.update(
        converged=bool(getattr(model, "converged_", False)),
        n_iter=int(getattr(model, "n_iter_", 0)),
        interrupted=bool(getattr(model, "interrupted_", False)),
        mean_log_likelihood=getattr(model, "lower_bound_", None),
        degenerate_components=list(getattr(model, "degenerate_components_", [])),
    )
    return out


def _model_summary(model) -> str:
    K, d = int(model.n_components), int(model.n_features_in_)
    parts = [type(model).__name__, f"{K} component{'s' if K != 1 else ''}"]
    parts += list(_describe(model).summary)
    parts.append(f"{d} feature{'s' if d != 1 else ''} ({', '.join(_feature_names(model))})")
    status = fit_status(model)
    return " | ".join(parts) + f"\n{status}; mean log-likelihood per row {_fmt(model.lower_bound_, 6)}"


def _cell(column, k: int, j: int | None = None) -> str:
    if column.values is None:
        return "..."
    v = column.values[k] if j is None else column.values[k, j]
    return _fmt(v, column.digits)


def _applies(column, j: int) -> bool:
    """Whether a per-feature column has a value for feature ``j`` (a mixed-type model's
    columns hold None at the features of other blocks)."""
    if column.values is None:
        return True
    values = np.asarray(column.values)
    return values.dtype != object or any(v is not None for v in values[:, j])


def _model_tables(model) -> list:
    """Rich tables of the fitted parameters, one row per component (or per component and feature).

    The columns are those of the family's :class:`~emkit.families.Description`;
    number columns are never narrower than their widest number.  In the long
    layout features that take different columns (the blocks of a mixed-type
    model) get a table each, so no table holds columns empty for its rows, and
    features with text labels are left to :func:`_label_tables`.
    """
    desc = _describe(model)
    names = _feature_names(model)
    d = len(names)
    weights = np.asarray(model.weights_)
    K = len(weights)
    per_feature = [c for c in desc.columns if not c.per_component]
    if d <= desc.wide_max:
        heads: list[str] = ["component", "weight"]
        per_component = [c for c in desc.columns if c.per_component]
        heads += [f"{c.label} {n}" for n in names for c in per_feature]
        heads += [c.label.format(*names) for c in per_component]
        rows = [[str(k), _fmt(weights[k], 3)]
                + [_cell(c, k, j) for j in range(d) for c in per_feature]
                + [_cell(c, k) for c in per_component] for k in range(K)]
        return [_table(heads, rows, [False] * K, set())]
    groups: dict = {}
    labelled = _feature_levels(model)  # shown by label in _label_tables instead
    for j in range(d):
        if names[j] in labelled:
            continue
        key = tuple(i for i, c in enumerate(per_feature) if _applies(c, j))
        groups.setdefault(key, []).append(j)
    tables = []
    for key, features in groups.items():
        columns = [per_feature[i] for i in key]
        heads = ["component", "weight", "feature"] + [c.label for c in columns]
        rows, ends = [], []
        for k in range(K):
            for j in features:
                first = j == features[0]
                rows.append([str(k) if first else "", _fmt(weights[k], 3) if first else "",
                             names[j], *[_cell(c, k, j) for c in columns]])
                ends.append(j == features[-1])
        text = {2} | {3 + i for i, c in enumerate(columns) if c.values is None}
        tables.append(_table(heads, rows, ends, text))
    return tables


def _table(heads, rows, ends, text) -> Table:
    table = Table(title_justify="left", header_style="bold")
    for j, head in enumerate(heads):
        _add_column(table, head, [row[j] for row in rows], numeric=j not in text)
    for row, end in zip(rows, ends, strict=True):
        table.add_row(*row, end_section=end)
    return table


def _label_probabilities(model) -> dict:
    """``{feature: (labels, probs)}`` for every text feature: ``probs`` of shape
    (n_components, n_labels), each component's probability of each label."""
    levels = _feature_levels(model)
    if not levels:
        return {}
    names = _feature_names(model)
    family, params = model._fitted_family(), model._fitted_params()
    out = {}
    for name, labels in levels.items():
        j = names.index(name)
        probs = family.marginal_density(np.arange(len(labels)), params, j, {})
        out[name] = (labels, np.asarray(probs, dtype=np.float64))
    return out


def _label_tables(model) -> list:
    """A table per text feature: the weights, then a row per label; a column per component."""
    tables = []
    weights = np.asarray(model.weights_)
    for name, (labels, probs) in _label_probabilities(model).items():
        t = Table(title=f"{name} by component", title_justify="left", header_style="bold")
        _add_column(t, name, ["(weight)", *labels], numeric=False)
        cells = [[_fmt(weights[k], 3)] + [_fmt(probs[k, c], 3) for c in range(len(labels))]
                 for k in range(len(probs))]
        for k, column in enumerate(cells):
            _add_column(t, f"comp. {k}", column, numeric=True)
        t.add_row("(weight)", *[column[0] for column in cells], end_section=True, style="dim")
        for c, label in enumerate(labels):
            t.add_row(label, *[column[c + 1] for column in cells])
        tables.append(t)
    return tables


def _print_model(model, extra_lines=()) -> None:
    out = _stdout()
    out.print(Text(_model_summary(model), style="bold"))
    for line in extra_lines:
        out.print(line, markup=False)
    for table in _model_tables(model) + _label_tables(model):
        out.print(table)


def _select_table(table: list[dict], title: str | None = None) -> Table:
    """The candidates of a model selection, one row each; columns with no entry are left out."""
    crit = str(table[0]["criterion"]).upper() if table else "BIC"
    finite = [r["value"] for r in table if r.get("value") is not None and math.isfinite(r["value"])]
    best = min(finite) if finite else None
    heads = ("", "covariance", "K", crit, f"{crit} - best", "log-lik", "params", "conv.", "note")
    rows, styles = [], []
    for r in table:
        note = ""
        if r.get("error"):
            note = f"failed: {_one_line(r['error'])}"
        elif r.get("degenerate"):
            note = "degenerate (not eligible)"
        elif r.get("monotone") is False:
            note = "log-likelihood below one component fewer"
        value = r.get("value")
        delta = None if value is None or best is None else value - best
        rows.append(["best" if r.get("best") else "", str(r.get("covariance_type") or ""),
                     str(r["n_components"]), _fixed(value), _fixed(delta),
                     _fixed(r.get("log_likelihood")), str(r.get("n_parameters") or "-"),
                     "-" if r.get("converged") is None else ("yes" if r["converged"] else "no"),
                     note])
        styles.append("bold green" if r.get("best") else ("dim" if note else None))
    keep = [j for j in range(len(heads)) if j in (2, 3) or any(row[j] for row in rows)]
    t = Table(title=title, title_justify="left", header_style="bold")
    for j in keep:
        text = j in (0, 1, 7, 8)
        _add_column(t, heads[j], [row[j] for row in rows], numeric=not text)
    for row, style in zip(rows, styles, strict=True):
        t.add_row(*[row[j] for j in keep], style=style)
    return t


def _add_column(table: Table, header: str, cells, numeric: bool) -> None:
    """A column whose numbers are never cut: at least as wide as its widest number (the
    header wraps instead); text columns wrap."""
    if numeric:
        table.add_column(header, justify="right", overflow="fold",
                         min_width=max((len(c) for c in cells), default=1))
    else:
        table.add_column(header, overflow="fold")


def _criterion_grid(table: list[dict], key: str, title: str | None = None) -> Table:
    """One criterion as a grid: a row per number of components, a column per
    covariance type (mclustBIC / mclustICL's layout, emkit's sign); '-' where
    a candidate failed, '*' after a degenerate fit's value."""
    types = list(dict.fromkeys(r.get("covariance_type") for r in table))
    ks = sorted({r["n_components"] for r in table})
    cell = {(r.get("covariance_type"), r["n_components"]): r for r in table}
    rows = []
    for k in ks:
        cells = [str(k)]
        for ct in types:
            r = cell.get((ct, k))
            v = None if r is None else r.get(key)
            cells.append(_fixed(v) + ("*" if r is not None and r.get("degenerate") else ""))
        rows.append(cells)
    t = Table(title=title, title_justify="left", header_style="bold")
    _add_column(t, "K", [r[0] for r in rows], True)
    for j, ct in enumerate(types):
        _add_column(t, str(ct) if ct is not None else key.upper(), [r[j + 1] for r in rows], True)
    for cells in rows:
        t.add_row(*cells)
    return t


def _candidates_json(table: list[dict]) -> list[dict]:
    keys = ("covariance_type", "n_components", "criterion", "value", "bic", "aic", "icl",
            "log_likelihood",
            "n_parameters", "converged", "degenerate", "best", "start", "monotone", "error")
    return [{k: r.get(k) for k in keys} for r in table]
