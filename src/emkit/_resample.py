"""Replicate data sets and warm-started refits shared by the bootstrap functions.

Nothing here knows a family: replicates are drawn through the fitted model's
own ``sample`` machinery (parametric) or by reweighting rows (nonparametric,
weighted likelihood), and every replicate is refitted by a copy of the fitted
estimator started from its fitted parameters (``warm_start``), as mclust's
``MclustBootstrap`` and ``mclustBootstrapLRT`` restart ``me()`` / ``em()``
from the original fit.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import check_int_param
from .backends.dask_backend import is_dask_array
from .engine.starts import START_ERRORS

KINDS = ("nonparametric", "parametric", "weighted")


@dataclass
class Refit:
    """One refitted replicate: the model, or why it failed.

    Attributes
    ----------
    model : estimator or None
        The refitted copy (None when the refit failed).
    reason : str
        Why the replicate failed ('' when it did not).
    converged : bool
    """

    model: object | None
    reason: str = ""
    converged: bool = False


def check_fitted_model(model, X, kwargs: Mapping, where: str):
    """A fitted in-memory model and ``X`` validated against it.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    """
    if not hasattr(model, "_fitted_params") or not hasattr(model, "warm_start"):
        raise TypeError(f"{where} needs a fitted emkit mixture estimator, got {type(model).__name__}")
    check_is_fitted(model)
    if is_dask_array(X):
        raise ValueError(f"{where} refits the model hundreds of times and needs X in memory: "
                         "pass X.compute() (or a sample of its rows) instead of a dask array")
    X = model._validate_X(X, reset=False)
    if X.shape[0] < 2:
        raise ValueError(f"{where} needs at least 2 rows of X, got {X.shape[0]}")
    model._aux(X, dict(kwargs), fitting=False)  # side data checked once, before any replicate
    return X


def check_n_boot(n_boot) -> int:
    check_int_param(n_boot, "n_boot", 1)
    return int(n_boot)


def replicate_seeds(random_state, n: int) -> np.ndarray:
    """One seed per replicate, drawn up front so results do not depend on ``n_jobs``."""
    return check_random_state(random_state).randint(0, 2**31 - 1, size=n)


def parametric_sample(model, n: int, rng, kwargs: Mapping) -> np.ndarray:
    """``n`` rows drawn from the fitted ``model`` (side data row-aligned with ``kwargs``).

    Returns
    -------
    X : ndarray of shape (n, n_features)
    """
    counts = rng.multinomial(n, model.weights_)
    labels = np.repeat(np.arange(model.n_components), counts)
    family = model._fitted_family()
    aux = family.side_aux(n, model.n_features_in_, dict(kwargs), "sample")
    return family.sample(model._fitted_params(), labels, rng, aux)


def replicate_data(model, X, kind: str, rng, kwargs: Mapping):
    """One replicate: ``(X_b, sample_weight_b, kwargs_b)``.

    ``"nonparametric"`` draws ``n`` rows with replacement (Efron 1979), kept
    as the distinct rows with their counts as frequency weights (a weight
    ``k`` fits like ``k`` copies); ``"parametric"`` draws ``n`` rows from the
    fitted mixture; ``"weighted"`` keeps every row with a weight from Exp(1),
    the weighted likelihood bootstrap (Newton & Raftery, JRSS-B 56:3-48,
    1994), as mclust's ``type = "wlbs"``.
    """
    n = X.shape[0]
    if kind == "nonparametric":
        counts = np.bincount(rng.randint(0, n, size=n), minlength=n)
        keep = counts > 0
        return X[keep], counts[keep].astype(np.float64), _rows(kwargs, keep, n)
    if kind == "parametric":
        return parametric_sample(model, n, rng, kwargs), None, dict(kwargs)
    w = rng.exponential(size=n)
    return X, w / w.max(), dict(kwargs)


def _rows(kwargs: Mapping, keep: np.ndarray, n: int) -> dict:
    """Per-row side data restricted to the kept rows; scalars unchanged."""
    out = {}
    for key, value in kwargs.items():
        arr = np.asarray(value)
        out[key] = arr[keep] if arr.ndim >= 1 and arr.shape[0] == n else value
    return out


def refit(model, X, sample_weight, kwargs: Mapping, random_state) -> Refit:
    """A copy of ``model`` refitted on a replicate from its fitted parameters.

    A replicate whose fit raises, or ends with a collapsed (degenerate)
    component, is a failure with its reason; one that stops unconverged is
    kept and flagged.
    """
    m = copy.deepcopy(model)
    m.set_params(warm_start=True, random_state=random_state)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the outcome is read from the fitted attributes
            m.fit(X, sample_weight=sample_weight, **kwargs)
    except START_ERRORS as exc:
        return Refit(None, f"{type(exc).__name__}: {exc}")
    if m.degenerate_components_:
        return Refit(None, f"component(s) {list(m.degenerate_components_)} collapsed")
    params = m._fitted_params()
    if not all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in params.values()):
        return Refit(None, "non-finite fitted parameters")
    return Refit(m, "", bool(m.converged_))


def component_axes(model) -> dict:
    """Axis of every fitted parameter that indexes components (None: shared by all).

    Found from the family's stored shapes at ``K`` and ``K + 1`` components,
    so a tied covariance of shape (d, d) is never permuted.
    """
    family = model._fitted_family()
    K, d = model.n_components, model.n_features_in_
    a, b = family.param_shapes(K, d), family.param_shapes(K + 1, d)
    axes = {"weights": 0}
    for name in a:
        diff = [i for i, (p, q) in enumerate(zip(a[name], b[name], strict=False)) if p != q]
        axes[name] = diff[0] if diff else None
    return axes


def match_components(reference_resp: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """Replicate component matched to each reference component.

    Maximises the summed overlap ``sum_i tau_ik * tau'_i,perm[k]`` of the two
    fits' posterior probabilities on the original rows (Hungarian algorithm),
    which undoes label switching without looking at any parameter.

    Parameters
    ----------
    reference_resp, resp : ndarray of shape (n_samples, n_components)

    Returns
    -------
    perm : ndarray of shape (n_components,)
    """
    _, cols = linear_sum_assignment(-(reference_resp.T @ resp))
    return cols


def permuted(params: Mapping, perm: np.ndarray, axes: Mapping) -> dict:
    """``params`` with their components reordered by ``perm``."""
    out = {}
    for name, value in params.items():
        axis = axes.get(name)
        value = np.asarray(value, dtype=np.float64)
        out[name] = value if axis is None else np.take(value, perm, axis=axis)
    return out


def parallel_map(fn, items, n_jobs):
    """``[fn(*item) for item in items]``, over ``n_jobs`` joblib workers when given."""
    if n_jobs in (None, 1):
        return [fn(*item) for item in items]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(fn)(*item) for item in items)


def failure_summary(failures: list) -> str:
    """'3 of 99 replicates failed (reason x2; reason)' for warnings and reports."""
    counts: dict[str, int] = {}
    for reason in failures:
        counts[reason] = counts.get(reason, 0) + 1
    return "; ".join(f"{r} (x{c})" if c > 1 else r for r, c in counts.items())
