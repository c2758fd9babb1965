"""The fused E-step of one chunk of large in-memory data (issue 15).

Float64 data too large for the cached feature rows of :mod:`._gaussian_small`
(and float32 data) has its feature rows built chunk by chunk, and took the generic path
(:func:`emkit.engine.em.e_step_chunk`): the family's log densities, then
``normalize_log``, then the moments, some sixty NumPy calls and a dozen
passes over ``(n, K)`` arrays per chunk.  This module does the same E-step of
one chunk in one function, as :func:`._gaussian_small.small_e_step` does for
small data:

- the chunk's feature rows (:func:`~._linalg.feature_rows`);
- one product ``theta' F`` (shape (K, n)) whose coefficient matrix carries
  the log mixing weights in its row of constants and is built once per pass
  (:func:`~._gaussian_products._coefficients`);
- the log-sum-exp and the responsibilities along the contiguous rows of that
  product, in place;
- one product ``F r'`` for every moment and, from the row of ones, ``nk``.

Full covariance takes it only where every component's expanded quadratic
form is safe (:func:`~._linalg.safe_components`, the generic path's test),
before the products are filled; tied covariance whitens the rows once for
the shared ``x'Lx`` (as the generic path).  Float32 rows are taken too (their
feature rows are float64, as on the generic path).  Side data, a
component of zero weight or a row without a finite log density go the
generic way (None), which gives the same values to rounding.
"""

from __future__ import annotations

import numpy as np

from ._gaussian_products import _coefficients, moments
from ._gaussian_small import fits_cache, small_e_step
from ._linalg import fill_products, feature_rows, safe_components, uses_quadratic_map
from ._shares import flush_tiny

#: most rows of one chunk taken here (the feature rows are a chunk-sized temporary)
MAX_CHUNK_ROWS = 2**17


def fused_e_step(covariance_type: str, X, w, centre, params, labels=None, rows=None):
    """The family's fused E-step: :func:`._gaussian_small.small_e_step` for float64
    data whose feature rows it caches, else :func:`chunk_e_step` of the rows
    ``rows[0]:rows[1]`` (one chunk of a pass; float32 data of any size); None
    where neither applies (the generic path then takes the chunk).  Arguments
    as ``small_e_step``."""
    out = small_e_step(covariance_type, X, w, centre, params, labels, rows)
    if out is None and rows is not None and type(X) is np.ndarray and (
            X.dtype == np.float32 or (X.dtype == np.float64 and not fits_cache(X, covariance_type))):
        a, b = rows
        out = chunk_e_step(covariance_type, X[a:b], w[a:b], centre, params, labels)
    return out


def chunk_e_step(covariance_type: str, X, w, centre, params, labels=None):
    """Statistics and weighted log-likelihood of one chunk of float64 rows, or None.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    X : ndarray of shape (n_rows, n_features), float64 or float32
        The chunk's rows.  The feature rows of the types taken here are
        float64 for float32 rows too (:func:`~._linalg.feature_rows`), as on
        the generic path, so both give the same values.
    w : ndarray of shape (n_rows,)
        Their sample weights.
    centre : ndarray of shape (n_features,)
        The family's centre (``sx``, ``sxx`` are taken about it).
    params : dict
        ``weights``, ``means`` and ``precisions_cholesky``.
    labels : ndarray of shape (n_rows,) or None
        Filled with every row's most likely component.

    Returns
    -------
    (stats, loglik) or None
        As :func:`._gaussian_small.small_e_step`; None where this path does
        not apply (the module's notes).
    """
    ct = covariance_type
    n, d = X.shape
    weights = params["weights"]
    K = weights.shape[0]
    if n > MAX_CHUNK_ROWS or (ct == "full" and not uses_quadratic_map(d, K)):
        return None
    with np.errstate(divide="ignore"):
        shift = np.log(np.asarray(weights, dtype=np.float64))
    if not np.isfinite(shift).all():
        return None
    P = np.asarray(params["precisions_cholesky"], dtype=np.float64)
    m = params["means"] - centre
    F, lin = feature_rows(X, centre, ct, K, products=False)
    if ct == "full":
        if not safe_components(F[lin:lin + d], P, m).all():
            return None
        fill_products(F, lin)
    theta = _coefficients(P, m, "quadratic" if ct == "full" else ct, lin, shift)
    with np.errstate(over="ignore", invalid="ignore"):
        lp = theta @ F  # (K, n): reductions over components run along contiguous rows
        if ct == "tied":  # x'Lx, shared by every component: whiten the rows once
            Y = P.T @ F[:d]  # (d, n)
            lp -= 0.5 * np.einsum("dn,dn->n", Y, Y)
        mx = lp.max(axis=0)
        if not np.isfinite(mx.sum()):
            return None  # a row without a finite log density: the generic path handles it
        lp -= mx
        flush_tiny(lp)  # shares below exp(-600) of the row's largest: exactly zero (_shares)
        np.exp(lp, out=lp)
        s = lp.sum(axis=0)
        lp *= 1.0 / s
        if labels is not None:
            labels[:] = lp.argmax(axis=0)
        np.log(s, out=s)
        s += mx
        if w.min() == 1.0 and w.max() == 1.0:
            loglik = float(s.sum())
        else:
            positive = w > 0  # weight 0 times an impossible row counts as nothing
            loglik = float(np.dot(w[positive], s[positive]))
            lp *= w
    # one product F r for every moment and nk, laid out as the generic path's
    return moments(F, lin, lp.T, ct), loglik
