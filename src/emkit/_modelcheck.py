"""Checks a model file's fitted values pass before anything is computed from them."""

from __future__ import annotations

import numpy as np

from ._modelcodec import _is_int
from .exceptions import ModelFileError


def _check_fitted(model, cls, attrs: dict) -> None:
    """Check every fitted parameter of a file before anything is computed from it.

    The constructor parameters must pass the estimator's own checks;
    ``n_features_in_`` must be a positive integer; every parameter array must
    have the shape the family gives for ``n_components`` and ``n_features_in_``
    (so nothing derived from it can be larger than the file), be finite, and
    lie in the family's parameter space (:meth:`Family.check_params`); the
    weights must lie on the simplex.
    """
    try:
        model._check_parameters()
    except ValueError as exc:
        raise ModelFileError(f"invalid estimator parameters ({exc})") from None
    K = model.n_components
    d = attrs.get("n_features_in_")
    if not _is_int(d) or d < 1:
        raise ModelFileError(f"n_features_in_ must be a positive integer, got {d!r}")
    arrays = {"weights": attrs["weights_"]}
    for key, attr in model._param_attrs.items():
        arrays[key] = attrs[attr]
    for key, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise ModelFileError(f"fitted parameter {key} is not a numeric array")
    w = arrays["weights"]
    if w.shape != (K,):
        raise ModelFileError(f"weights_ has shape {w.shape}, but n_components={K} needs ({K},)")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-6:
        raise ModelFileError("weights_ are not finite non-negative numbers summing to 1")
    for key, attr in model._param_attrs.items():
        setattr(model, attr, arrays[key])
    model.weights_ = w
    model.n_features_in_ = d  # a composite family's column layout depends on it
    if isinstance(attrs.get("feature_names_in_"), np.ndarray):
        model.feature_names_in_ = attrs["feature_names_in_"]
    family = _family_for_check(model)
    shapes = family.param_shapes(K, d)
    for key, attr in model._param_attrs.items():
        arr = arrays[key]
        if key not in shapes or arr.shape != tuple(shapes[key]):
            raise ModelFileError(
                f"{attr} has shape {arr.shape}, but n_components={K} and n_features_in_={d} "
                f"need {tuple(shapes.get(key, ()))}"
            )
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{attr} contains NaN or inf")
    try:
        family.check_params({k: v.astype(np.float64) for k, v in arrays.items()})
    except ValueError as exc:
        raise ModelFileError(f"invalid fitted parameters: {exc}") from None
    _check_fit_record(attrs)
    _check_levels(model, family, attrs)


def _check_levels(model, family, attrs: dict) -> None:
    """The labels of text columns (``feature_levels_``, set by the command line).

    ``feature_levels_`` maps feature names (of ``feature_names_``) to lists of
    distinct non-empty labels, code order.  Each such column must be modelled
    by a discrete family of unordered values (Bernoulli, categorical) whose
    support holds a code for every label; ``unknown_levels_`` ("error" or
    "missing") says what an unseen label means, and "missing" needs
    ``missing="marginalize"``.
    """
    from ._table_labels import check_levels

    levels = attrs.get("feature_levels_")
    policy = attrs.get("unknown_levels_")
    if policy is not None and policy not in ("error", "missing"):
        raise ModelFileError(f"unknown_levels_ must be 'error' or 'missing', got {policy!r}")
    if policy == "missing" and model.get_params().get("missing") != "marginalize":
        raise ModelFileError("unknown_levels_='missing' needs a model with missing='marginalize'")
    if levels is None:
        return
    names = attrs.get("feature_names_")
    if not isinstance(levels, dict) or not isinstance(names, list):
        raise ModelFileError("feature_levels_ must be a dict of labels by the feature names of "
                             "feature_names_")
    params = {"weights": model.weights_,
              **{k: getattr(model, a) for k, a in model._param_attrs.items()}}
    for name, labels in levels.items():
        if name not in names:
            raise ModelFileError(f"feature_levels_ names {name!r}, which is not a feature")
        try:
            labels = check_levels(labels, f"feature_levels_[{name!r}]")
        except ValueError as exc:
            raise ModelFileError(str(exc)) from None
        j = names.index(name)
        fam = family.feature_family(j)
        if fam.data_kind != "discrete" or fam.ordered:
            raise ModelFileError(f"feature {name!r} has text labels, but its {fam.name} family "
                                 "does not model unordered categories")
        with np.errstate(all="ignore"):
            top = int(family.marginal_range(params, j, np.arange(len(labels)), {})[1])
        if len(labels) > top + 1:
            raise ModelFileError(f"feature {name!r} has {len(labels)} labels, but its "
                                 f"{fam.name} component has {top + 1} categories")


def _check_fit_record(attrs: dict) -> None:
    """The fit's record (shown by the CLI) must have the types a fit gives it."""
    import numbers

    def real_not_nan(v):  # -inf is the record of a fit that never got a finite likelihood
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and not np.isnan(v)

    checks = {
        "converged_": lambda v: isinstance(v, (bool, np.bool_)),
        "interrupted_": lambda v: isinstance(v, (bool, np.bool_)),
        "n_iter_": lambda v: _is_int(v) and v >= 0,
        "lower_bound_": real_not_nan,
        "history_": lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f"
        and bool(np.all(np.isfinite(v))),
        "degenerate_components_": lambda v: isinstance(v, list) and all(_is_int(i) for i in v),
    }
    for key, ok in checks.items():
        if key in attrs and not ok(attrs[key]):
            raise ModelFileError(f"fitted attribute {key} has an invalid value")


def _family_for_check(model):
    """The fitted family, built from parameters whose first axes are already checked."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return model._fitted_family()
