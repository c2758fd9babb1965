"""Reading a command's inputs: data columns, option values, model files."""

import contextlib
import os
from pathlib import Path

import numpy as np

from .. import registry
from .application import CliError


def _io():
    from .. import io

    return io


def _family(name: str) -> type:
    """The registered family called ``name``."""
    try:
        return registry.get(name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _estimator_class(name: str) -> type:
    return registry.estimator_class(_family(name).name)


def _family_of(model) -> type:
    return registry.family_of(model)


def _accepts(family: type, option: str) -> bool:
    """Whether ``family`` takes the command-line ``option`` (without dashes, with underscores)."""
    if option == "trials_column":
        return family.side_data is not None
    return option in family.cli_params or (option == "trials" and family.side_data is not None)


def _check_options(family: type, **given) -> None:
    """CliError when an option was given that the family does not take."""
    for option, value in given.items():
        if value is not None and not _accepts(family, option):
            takers = [n for n, f in registry.families().items() if _accepts(f, option)]
            raise CliError(f"--{option.replace('_', '-')} applies to the "
                           f"{' and '.join(takers) or 'no'} family only")
    if given.get("trials") is not None and given.get("trials_column") is not None:
        raise CliError("give either --trials N or --trials-column c, not both")


def _require_side_data(family: type, trials, trials_column) -> None:
    """CliError when the family needs per-row side data and neither option gives it."""
    if family.side_data is not None and trials is None and trials_column is None:
        raise CliError(f"the {family.name} family needs {family.side_data_text}: "
                       "--trials N or --trials-column c")


def _side_kwargs(family: type, inputs, trials) -> dict:
    """Keyword arguments carrying the family's per-row side data, if given."""
    if family.side_data is None:
        return {}
    if inputs.side is not None:
        return {family.side_data: inputs.side}
    if trials is not None:
        return {family.side_data: int(trials)}
    return {}


def _split_list(value: str | None, option: str) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")]
    if not items or any(not v for v in items):
        raise CliError(f"{option} must be a comma-separated list without empty entries, got {value!r}")
    return items


def _parse_components(value: str) -> list[int]:
    """``"3"``, ``"1-8"`` or ``"1,2,5"`` (ranges allowed in lists) to a list of ints."""
    out: list[int] = []
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise CliError(f"--components must look like 3, 1-8 or 1,2,4, got {value!r}") from None
    if not out or min(out) < 1:
        raise CliError(f"--components must be at least 1, got {value!r}")
    return list(dict.fromkeys(out))


def _parse_variants(family: type, value: str) -> list[str] | None:
    """``--covariance`` of select: a comma-separated list of the family's variants and
    group names ('all', 'sklearn'; expanded by :func:`_expand_variants` once the data's
    width is known); None where the family has none."""
    if family.variant_param is None or "covariance" not in family.cli_params:
        if value.strip().lower() != "all":
            _check_options(family, covariance=value)
        return None
    items = [v.lower() if v.lower() in family.variant_groups else v
             for v in _split_list(value, "--covariance")]
    for item in items:
        if item not in family.variants and item not in family.variant_groups:
            groups = ", ".join(repr(g) for g in family.variant_groups)
            raise CliError(f"--covariance: unknown {family.variant_param.replace('_', ' ')} "
                           f"{item!r}; choose {groups} or a comma-separated list of "
                           f"{', '.join(family.variants)}")
    return list(dict.fromkeys(items))


def _expand_variants(family: type, items: list[str] | None, n_features: int) -> list[str] | None:
    """Group names of ``--covariance`` replaced by the variants they stand for."""
    if items is None:
        return None
    out: list[str] = []
    for item in items:
        out.extend(family.expand_variants(item, n_features) or (item,))
    return list(dict.fromkeys(out))


def _check_out_path(path: Path | None, option: str) -> None:
    """Fail before any work when ``path`` cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise CliError(f"{option} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CliError(f"{option} {path}: folder {parent} is not writable")


def _check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("plots need matplotlib: pip install 'emkit[plot]'") from None


def _column_index(token: str, names: list[str], option: str) -> int:
    if token in names:
        return names.index(token)
    with contextlib.suppress(ValueError):
        i = int(token)
        if -len(names) <= i < len(names):
            return i % len(names)
    raise CliError(f"{option}: no column {token!r}; the columns are {', '.join(names)}")


class _Inputs:
    """Data read for one command: the feature matrix and the side columns.

    ``levels`` holds the labels of the text feature columns (their cells in
    ``X`` are codes); ``ids`` the cells of ``--id-column`` as strings.
    """

    def __init__(self, X, names, weights=None, side=None, side_column=None, levels=None,
                 ids=None):
        self.X = X
        self.names = names
        self.weights = weights
        self.side = side
        self.side_column = side_column
        self.levels = dict(levels or {})
        self.ids = ids


def _text_format() -> dict:
    """``delimiter`` and ``decimal`` for io.read_table, as --delimiter and --decimal gave them."""
    from .application import _session

    return {k: v for k, v in _session.text_format.items() if v is not None}


def _id_strings(table, name: str) -> list[str]:
    """The cells of the id column as text: as written in a text file (``00123`` stays
    ``00123``); from other files, numbers without a trailing .0."""
    if name in table.text:
        return ["" if c is None else str(c) for c in table.text[name]]
    x = table.X[:, table.names.index(name)]
    return ["" if not np.isfinite(v) else (str(int(v)) if v == int(v) and abs(v) < 2**53
                                           else f"{v:.17g}") for v in x]


def _table_reader(data: str, chunk_rows: int | None, drop_missing, id_column, read: dict):
    """``columns -> table`` (``X``, ``names``, ``levels``, ``text``) for DATA, in memory or in chunks."""
    from types import SimpleNamespace

    from ..backends import sources

    if not sources.wants_chunks(data, chunk_rows):
        return lambda cols: _io().read_labelled_table(data, cols, **read)
    for given, option in ((drop_missing, "--drop-missing"), (id_column, "--id-column")):
        if given:
            raise CliError(f"{data}: {option} needs the data in memory; it is not available "
                           "for Parquet datasets or files read in chunks")

    def table_of(cols):
        X, names = sources.open_chunked(data, cols, chunk_rows)
        return SimpleNamespace(X=X, names=names, levels={}, text={})

    return table_of


def _read_inputs(data: str, columns: str | None, *, weights_column: str | None = None,
                 trials_column: str | None = None, id_column: str | None = None,
                 drop_missing: bool = False, default_names: list[str] | None = None,
                 levels: dict | None = None, unknown: str = "error") -> _Inputs:
    """Read DATA, keeping the chosen feature columns and the side columns.

    ``default_names`` (the columns a saved model was fitted on) pick the
    feature columns when ``--columns`` is not given and DATA has them all.
    Text columns are read as category codes (:func:`emkit.io.read_labelled_table`),
    with ``levels`` (a model's labels) when given.  A Parquet dataset (or a
    file read in chunks, see :func:`emkit.backends.sources.wants_chunks`)
    gives a lazy dask array, and lazy weights and trials columns read block
    by block with it; its columns must be numbers.  ``--chunk-rows`` comes
    from :func:`~emkit.cli.scale.chunk_rows`.
    """
    from .scale import chunk_rows

    table_of = _table_reader(data, chunk_rows(), drop_missing, id_column,
                             dict(drop_missing=drop_missing, levels=levels, unknown=unknown,
                                  as_written=() if id_column is None else (id_column,),
                                  **_text_format()))
    cols = _split_list(columns, "--columns")
    side = [c for c in (weights_column, trials_column) if c is not None]
    extra = side + ([id_column] if id_column is not None else [])
    if cols is not None:
        for c in extra:
            if c in cols:
                raise CliError(f"column {c!r} is in --columns and is also the "
                               f"{'id' if c == id_column else 'weights or trials'} column")
        table = table_of(cols + extra)
        names = table.names
        feat = list(range(len(cols)))
        side_idx = list(range(len(cols), len(cols) + len(side)))
        id_idx = len(cols) + len(side) if id_column is not None else None
    else:
        table = table_of(None)
        names = table.names
        side_idx = [_column_index(c, names, "--weights-column" if c == weights_column
                                  else "--trials-column") for c in side]
        if len(set(side_idx)) != len(side_idx):
            raise CliError("--weights-column and --trials-column name the same column")
        id_idx = _column_index(id_column, names, "--id-column") if id_column is not None else None
        if id_idx is not None and id_idx in side_idx:
            raise CliError("--id-column names the weights or trials column")
        feat = [j for j in range(len(names)) if j not in side_idx and j != id_idx]
        if default_names is not None and all(n in names for n in default_names):
            chosen = [names.index(n) for n in default_names]
            if not set(chosen) & (set(side_idx) | {id_idx}):
                feat = chosen
        elif default_names is not None and any(n in names for n in default_names):
            lacking = [n for n in default_names if n not in names]
            raise CliError(f"{data}: has no column {', '.join(map(repr, lacking))}; the model "
                           f"was fitted on {', '.join(default_names)}: give DATA those columns, "
                           "or choose columns in their order with --columns")
    if not feat:
        raise CliError(f"{data}: no feature columns left to use")
    X = table.X
    out = _Inputs(X[:, feat], [names[j] for j in feat],
                  levels={names[j]: table.levels[names[j]] for j in feat
                          if names[j] in table.levels})
    from .application import _session
    from .locate import Source

    _session.source = Source(data, out.names, dropped=drop_missing is True,
                             trials_column=trials_column, weights_column=weights_column,
                             **_text_format())
    for c, j in zip(side, side_idx, strict=True):
        if names[j] in table.levels:
            option = "--weights-column" if c == weights_column else "--trials-column"
            raise CliError(f"{option} {c}: column {names[j]!r} holds text "
                           f"({_labels_shown(table.levels[names[j]])}), not numbers")
    rest = iter(side_idx)
    # from a chunked source the weights and trials stay lazy: read block by block with X
    if weights_column is not None:
        out.weights = X[:, next(rest)]
    if trials_column is not None:
        out.side = X[:, next(rest)]
        out.side_column = trials_column
    if id_idx is not None:
        out.ids = _id_strings(table, names[id_idx])
    return out


def _labels_shown(labels, limit: int = 4) -> str:
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:limit])
    return shown + (f", ... {len(labels)} labels" if len(labels) > limit else "")


def _text_hint(inputs: _Inputs, name: str, what: str) -> CliError:
    """The error for a text column the model cannot take: names it and says what to do."""
    labels = inputs.levels[name]
    numeric = [n for n in inputs.names if n not in inputs.levels]
    fix = f"choose the feature columns with --columns {','.join(numeric)}" if numeric else \
        "choose the feature columns with --columns"
    ids = len(labels) == inputs.X.shape[0] or len(labels) > 0.5 * inputs.X.shape[0]
    if ids:
        fix += f" (row ids go in the output with --id-column {name})"
    return CliError(f"column {name!r} holds text ({_labels_shown(labels)}), {what}; {fix}")


def _categories_for_labels(family: type, inputs: _Inputs, categories: int | None) -> int | None:
    """``--categories``, or for a family that takes it and text columns, enough categories for
    every label (even one seen only in dropped rows) and every numeric code."""
    if categories is not None or not inputs.levels or "categories" not in family.cli_params:
        return categories
    seen = np.nanmax(inputs.X, initial=0.0) if inputs.X.size else 0.0
    return int(max(max(len(v) for v in inputs.levels.values()), seen + 1))


def _check_text_columns(family: type, inputs: _Inputs) -> None:
    """CliError naming a text feature column that ``family`` does not model."""
    for name, labels in inputs.levels.items():
        kind = registry.text_kind(len(labels))
        if kind.name not in family.column_kinds:
            takers = [f.name for f in registry.families_for_column(kind.name)]
            raise _text_hint(inputs, name, f"which the {family.name} family does not model "
                             f"(--family auto or {' or '.join(takers)} does)")


def _aux(model, inputs: _Inputs, trials: int | None) -> dict:
    """Keyword arguments for predict/score of a loaded model (its per-row side data)."""
    family = _family_of(model)
    if family.side_data is None:
        _check_options(family, trials=trials, trials_column=inputs.side_column)
        return {}
    kwargs = _side_kwargs(family, inputs, trials)
    if not kwargs and model.get_params().get(family.side_data) is None:
        raise CliError(f"this {family.name} model was fitted with per-row {family.side_data_text}:"
                       " give them with --trials-column c (or --trials N)")
    return kwargs


def _load_model(path: Path):
    from .._modelfile import load

    return load(path)


def _save_model(model, path: Path) -> None:
    from .._modelfile import save

    save(model, path)


def _feature_names(model) -> list[str]:
    names = getattr(model, "feature_names_", None)
    d = int(model.n_features_in_)
    if names is not None and len(names) == d:
        return [str(n) for n in names]
    return [f"x{j}" for j in range(d)]


def _feature_levels(model) -> dict:
    """The labels of the model's text features by name (``feature_levels_``, set by fit)."""
    levels = getattr(model, "feature_levels_", None) or {}
    return {str(k): tuple(v) for k, v in levels.items()}


def _unknown_levels(model) -> str:
    """What a label the model never saw means: "error", or "missing" (fit --unknown missing)."""
    return getattr(model, "unknown_levels_", None) or "error"


def _check_features(model, inputs: _Inputs, data: str) -> None:
    d = int(model.n_features_in_)
    if inputs.X.shape[1] != d:
        raise CliError(
            f"{data}: the model was fitted on {d} feature(s) ({', '.join(_feature_names(model))}) "
            f"but {inputs.X.shape[1]} column(s) were read ({', '.join(inputs.names)}); "
            "choose the columns with --columns"
        )
    known = _feature_levels(model)
    for name in inputs.levels:
        if name not in known:
            raise _text_hint(inputs, name, "but the model was fitted on numbers in that column")
