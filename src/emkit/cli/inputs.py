"""Reading a command's inputs: data columns, option values, model files."""

import contextlib
import os
from pathlib import Path

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
    """Data read for one command: the feature matrix and the side columns."""

    def __init__(self, X, names, weights=None, side=None, side_column=None):
        self.X = X
        self.names = names
        self.weights = weights
        self.side = side
        self.side_column = side_column


def _text_format() -> dict:
    """``delimiter`` and ``decimal`` for io.read_table, as --delimiter and --decimal gave them."""
    from .application import _session

    return {k: v for k, v in _session.text_format.items() if v is not None}


def _read_inputs(data: str, columns: str | None, *, weights_column: str | None = None,
                 trials_column: str | None = None, drop_missing: bool = False,
                 default_names: list[str] | None = None) -> _Inputs:
    """Read DATA, keeping the chosen feature columns and the side columns.

    ``default_names`` (the columns a saved model was fitted on) pick the
    feature columns when ``--columns`` is not given and DATA has them all.
    """
    io = _io()
    cols = _split_list(columns, "--columns")
    side = [c for c in (weights_column, trials_column) if c is not None]
    if cols is not None:
        for c in side:
            if c in cols:
                raise CliError(f"column {c!r} is in --columns and is also the weights or trials column")
        X, names = io.read_table(data, cols + side, drop_missing=drop_missing, **_text_format())
        feat = list(range(len(cols)))
        side_idx = list(range(len(cols), len(cols) + len(side)))
    else:
        X, names = io.read_table(data, None, drop_missing=drop_missing, **_text_format())
        side_idx = [_column_index(c, names, "--weights-column" if c == weights_column
                                  else "--trials-column") for c in side]
        if len(set(side_idx)) != len(side_idx):
            raise CliError("--weights-column and --trials-column name the same column")
        feat = [j for j in range(len(names)) if j not in side_idx]
        if default_names is not None and all(n in names for n in default_names):
            chosen = [names.index(n) for n in default_names]
            if not set(chosen) & set(side_idx):
                feat = chosen
    if not feat:
        raise CliError(f"{data}: no feature columns left to use")
    out = _Inputs(X[:, feat], [names[j] for j in feat])
    from .application import _session
    from .locate import Source

    _session.source = Source(data, out.names, dropped=drop_missing is True, **_text_format())
    rest = iter(side_idx)
    if weights_column is not None:
        out.weights = X[:, next(rest)]
    if trials_column is not None:
        out.side = X[:, next(rest)]
        out.side_column = trials_column
    return out


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


def _check_features(model, inputs: _Inputs, data: str) -> None:
    d = int(model.n_features_in_)
    if inputs.X.shape[1] != d:
        raise CliError(
            f"{data}: the model was fitted on {d} feature(s) ({', '.join(_feature_names(model))}) "
            f"but {inputs.X.shape[1]} column(s) were read ({', '.join(inputs.names)}); "
            "choose the columns with --columns"
        )
