"""Starting values and held parameters of ``emkit fit``: ``--init FILE`` and ``--fixed``.

``--init`` reads a JSON object of starting values by parameter name
(``{"weights": [0.5, 0.5], "probs": [[0.6], [0.5]]}``); the family maps the
names to its estimator's ``*_init`` arguments
(:meth:`~emkit.families.Family.init_kwargs`), so nothing here knows a family.
Messages name the file and the parameter as the user wrote it, never a
Python argument.
"""

import json
import re
from pathlib import Path

from .application import CliError


def _read_json(path: Path) -> dict:
    if path.is_dir():
        raise CliError(f"--init {path}: is a directory")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"--init {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--init {path}: cannot read it ({exc})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--init {path}: not valid JSON at line {exc.lineno}, column {exc.colno}: "
                       f"{exc.msg}") from None
    if not isinstance(values, dict) or not values:
        raise CliError(f"--init {path}: expected a JSON object of starting values such as "
                       '{"weights": [0.5, 0.5], "means": [[0], [1]]}')
    return values


def _user_names(message: str) -> str:
    """A message about ``*_init`` arguments, in the names of the starting-values file."""
    message = message.replace("precisions_init", "covariances")
    return re.sub(r"\b([a-z]+)_init\b", r"\1", message)


def starting_kwargs(model, path: Path, n_features: int) -> dict:
    """Estimator arguments that start ``model`` from the values in the JSON file ``path``.

    The values are checked here (shapes, ranges, positive definite
    covariances) so that a problem is reported with the file's names.

    Parameters
    ----------
    model : emkit estimator
        Not fitted; its configuration (family settings, ``n_components``)
        decides the shapes.
    path : pathlib.Path
    n_features : int
        Columns of the data to be fitted.

    Returns
    -------
    kwargs : dict
        For ``model.set_params``.
    """
    values = _read_json(path)
    family = model._configured_family()
    K = int(model.n_components)
    kwargs = {}
    try:
        if "weights" in values:
            kwargs["weights_init"] = values.pop("weights")
        kwargs.update(family.init_kwargs(values, K, n_features))
        model.set_params(**kwargs)
        model._check_weights_init()
        family.check_init({k: v for k, v in kwargs.items() if k != "weights_init"}, K, n_features)
    except (ValueError, TypeError) as exc:
        raise CliError(f"--init {path}: {_user_names(str(exc))}") from None
    return kwargs


def parse_fixed(value: str | None, model) -> tuple:
    """``--fixed weights,probs`` as a tuple of parameter names the family can hold."""
    if value is None:
        return ()
    names = [v.strip() for v in value.split(",")]
    family = model._configured_family()
    allowed = ("weights", *family.param_names)
    for name in names:
        if name not in allowed:
            raise CliError(f"--fixed: cannot hold {name!r}; the {family.name} family can hold "
                           f"{', '.join(allowed)} (comma-separated)")
    return tuple(dict.fromkeys(names))
