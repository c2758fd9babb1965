"""Choosing the number of components (and covariance type) by BIC or AIC."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import registry
from .exceptions import DegenerateComponentWarning

__all__ = ["CRITERIA", "select_model"]

logger = logging.getLogger("emkit")

CRITERIA = ("bic", "aic")
_EXPECTED_WARNINGS = (ConvergenceWarning, DegenerateComponentWarning)


def _check_components(n_components) -> list[int]:
    if isinstance(n_components, (int, np.integer)) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        ks = list(n_components)
    except TypeError:
        raise ValueError(
            f"n_components must be an int or an iterable of ints, got {n_components!r}"
        ) from None
    if not ks:
        raise ValueError("n_components is empty; give at least one number of components")
    out = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_components must hold integers >= 1, got {k!r}")
        out.append(int(k))
    return list(dict.fromkeys(out))


def _check_variants(family, values) -> list:
    """The values of the family's variant parameter to try (Gaussian: covariance types)."""
    if isinstance(values, str):
        values = (values,)
    chosen = list(dict.fromkeys(values))
    what = family.variant_param.replace("_", " ")
    if not chosen:
        raise ValueError(f"covariance_types is empty; give at least one {what}")
    for v in chosen:
        if v not in family.variants:
            raise ValueError(
                f"{what} must be one of {', '.join(repr(c) for c in family.variants)}, got {v!r}"
            )
    return chosen


def select_model(
    X,
    n_components=range(1, 7),
    covariance_types=("full", "tied", "diag", "spherical"),
    criterion="bic",
    n_init=1,
    random_state=None,
    *,
    sample_weight=None,
    family="gaussian",
    max_iter=100,
    tol=1e-3,
    callback: Callable[[dict], None] | None = None,
    fit_params: dict | None = None,
    estimator_params: dict | None = None,
):
    """Fit every candidate mixture and keep the one with the lowest BIC or AIC.

    Candidates are all pairs of covariance type and number of components
    (for the Gaussian family) or all numbers of components (for the discrete
    families, where covariance types do not apply).  Fits in which a
    component collapsed (``degenerate_components_`` non-empty) are listed
    but never chosen.  Convergence and degenerate-component warnings of the
    candidates are recorded in the table instead of being emitted.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or iterable of int, default=range(1, 7)
    covariance_types : str or iterable of str, default=("full", "tied", "diag", "spherical")
        Values of the family's variant parameter to try (the Gaussian
        covariance types); ignored for families without one.
    criterion : {"bic", "aic"}, default="bic"
    n_init : int, default=1
        Initialisations per candidate.
    random_state : int, RandomState instance or None, default=None
        Passed to every candidate.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights; the criterion then uses the weighted
        log-likelihood and ``sum(sample_weight)`` as the sample size.
    family : str, default="gaussian"
        A registered family (see :func:`emkit.registry.families`).
    max_iter : int, default=100
    tol : float, default=1e-3
    callback : callable, default=None
        Called after each candidate with one dict: the candidate's table row
        plus ``"index"`` (0-based) and ``"total"`` (number of candidates).
    fit_params : dict, default=None
        Extra keyword arguments for ``fit`` and for scoring (for instance
        per-row ``n_trials`` of a binomial mixture).
    estimator_params : dict, default=None
        Extra constructor parameters for every candidate (for instance
        ``{"reg_covar": 1e-4}`` or ``{"n_trials": 10}``).

    Returns
    -------
    best : estimator
        The chosen fitted estimator.
    table : list of dict
        One dict per candidate, in fitting order, with keys
        ``"covariance_type"`` (None for discrete families),
        ``"n_components"``, ``"criterion"`` (``"bic"`` or ``"aic"``),
        ``"value"``, ``"log_likelihood"`` (total, weighted),
        ``"n_parameters"``, ``"converged"``, ``"degenerate"``, ``"best"``,
        ``"error"`` (None, or why the candidate could not be fitted) and
        ``"warnings"`` (messages recorded while fitting).  Numbers are None
        for candidates that failed.

    Raises
    ------
    ValueError
        Invalid arguments, or no candidate could be fitted without
        degenerate components.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}")
    fam = registry.get(family)
    cls = registry.estimator_class(family)
    ks = _check_components(n_components)
    if fam.variant_param is not None:
        candidates = [(v, k) for v in _check_variants(fam, covariance_types) for k in ks]
    else:
        candidates = [(None, k) for k in ks]
    fit_params = dict(fit_params or {})
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    table: list[dict] = []
    best_model, best_row = None, None
    for index, (ct, k) in enumerate(candidates):
        kwargs = {**(estimator_params or {}), "n_init": n_init, "random_state": random_state,
                  "max_iter": max_iter, "tol": tol}
        if ct is not None:
            kwargs[fam.variant_param] = ct
        row = {
            "covariance_type": ct, "n_components": k, "criterion": criterion, "value": None,
            "log_likelihood": None, "n_parameters": None, "converged": None,
            "degenerate": None, "best": False, "error": None, "warnings": [],
        }
        model = cls(k, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model.fit(X, sample_weight=w, **fit_params)
                value, loglik = _criterion(model, X, w, criterion, fit_params)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                row["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                model = None
        for wm in caught:
            if issubclass(wm.category, _EXPECTED_WARNINGS):
                row["warnings"].append(str(wm.message))
            else:
                warnings.warn_explicit(wm.message, wm.category, wm.filename, wm.lineno)
        if model is not None:
            row.update(
                value=value, log_likelihood=loglik, n_parameters=int(model._n_parameters()),
                converged=bool(model.converged_),
                degenerate=bool(len(model.degenerate_components_)),
            )
            if not row["degenerate"] and math.isfinite(value) and (
                best_row is None or value < best_row["value"]
            ):
                best_model, best_row = model, row
        logger.debug("select_model candidate %s", row)
        table.append(row)
        if callback is not None:
            callback({**row, "index": index, "total": len(candidates)})
    if best_row is None:
        reasons = sorted({r["error"] or "degenerate components" for r in table})
        raise ValueError(
            f"no candidate could be chosen: every one failed or has degenerate components "
            f"({'; '.join(reasons)})"
        )
    best_row["best"] = True
    return best_model, table


def _criterion(model, X, w, criterion: str, fit_params: dict) -> tuple[float, float]:
    """The criterion and total log-likelihood of a fitted candidate."""
    if w is None:
        value = model.bic(X, **fit_params) if criterion == "bic" else model.aic(X, **fit_params)
        n = np.asarray(X).shape[0] if hasattr(X, "shape") else len(X)
        loglik = model.score(X, **fit_params) * n
        return float(value), float(loglik)
    scores = model.score_samples(X, **fit_params)
    n_eff = float(w.sum())
    loglik = float(w @ scores)
    penalty = np.log(n_eff) if criterion == "bic" else 2.0
    return -2.0 * loglik + model._n_parameters() * penalty, loglik
