"""Reading a command's inputs: data columns, option values, model files."""

import contextlib
import os
from pathlib import Path

from .application import CliError
from .options import _COVARIANCE_TYPES, _FAMILY_CLASSES

def _emkit():
    import emkit

    return emkit


def _io():
    from .. import io

    return io


def _estimator_class(family: str):
    cls = getattr(_emkit(), _FAMILY_CLASSES[family], None)
    if cls is None:
        raise CliError(f"the {family} family ({_FAMILY_CLASSES[family]}) is not available "
                       "in this version of emkit")
    return cls


def _family_of(model) -> str:
    from ..plotting import family_of

    return family_of(model)


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


def _parse_covariances(value: str) -> list[str]:
    if value.strip().lower() == "all":
        return list(_COVARIANCE_TYPES)
    items = _split_list(value, "--covariance")
    for item in items:
        if item not in _COVARIANCE_TYPES:
            raise CliError(f"--covariance: unknown covariance type {item!r}; choose 'all' or a "
                           f"comma-separated list of {', '.join(_COVARIANCE_TYPES)}")
    return list(dict.fromkeys(items))


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

    def __init__(self, X, names, weights=None, trials=None):
        self.X = X
        self.names = names
        self.weights = weights
        self.trials = trials


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
        X, names = io.read_table(data, cols + side, drop_missing=drop_missing)
        feat = list(range(len(cols)))
        side_idx = list(range(len(cols), len(cols) + len(side)))
    else:
        X, names = io.read_table(data, None, drop_missing=drop_missing)
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
    rest = iter(side_idx)
    if weights_column is not None:
        out.weights = X[:, next(rest)]
    if trials_column is not None:
        out.trials = X[:, next(rest)]
    return out


def _trials_kwargs(family: str, trials: int | None, trials_column: str | None) -> None:
    if family != "binomial" and (trials is not None or trials_column is not None):
        raise CliError("--trials and --trials-column apply to the binomial family only")
    if trials is not None and trials_column is not None:
        raise CliError("give either --trials N or --trials-column c, not both")


def _aux(model, inputs: _Inputs, trials: int | None) -> dict:
    """Keyword arguments for predict/score of a loaded model (binomial trials)."""
    if _family_of(model) != "binomial":
        if trials is not None or inputs.trials is not None:
            raise CliError("--trials and --trials-column apply to binomial models only")
        return {}
    if inputs.trials is not None:
        return {"n_trials": inputs.trials}
    if trials is not None:
        return {"n_trials": int(trials)}
    if getattr(model, "n_trials", None) is None:
        raise CliError("this binomial model was fitted with per-row numbers of trials: "
                       "give them with --trials-column c (or --trials N)")
    return {}


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
