"""Gaussian components with missing cells integrated out.

Diagonal and spherical covariances (:func:`cells_log_prob`,
:func:`cells_stats`): given the component the features are independent, so
a missing cell's factor is dropped from the row's density and left out of
its feature's statistics, and the M-step divides each feature's sums by the
weight of the rows that observe it (``nkj``; as the product families do,
see :mod:`emkit.families._cells`): a few matrix products per chunk, and EM
without the missing cells as latent data, which converges faster than
conditioning (Little & Rubin, *Statistical Analysis with Missing Data*, 2nd
ed., Wiley 2002, ch. 8; Hunt & Jorgensen, CSDA 41:429-440, 2003).

Full and tied covariances, by conditioning:

Under missingness at random the observed cells ``x_o`` of a row have the
marginal density ``N(x_o; mu_o, S_oo)`` under a component, and the E-step of
the complete-data statistics uses the conditional distribution of the missing
cells given the observed ones,

    E[x_m | x_o] = mu_m + S_mo S_oo^-1 (x_o - mu_o),
    Cov[x_m | x_o] = S_mm - S_mo S_oo^-1 S_om,

so the first moments take the conditional mean in place of the missing cells
and the second moments add the conditional covariance (Ghahramani & Jordan,
"Supervised learning from incomplete data via an EM approach", NIPS 6, 1994;
Little & Rubin, *Statistical Analysis with Missing Data*, 2nd ed., Wiley 2002,
ch. 11).  The statistics have the layout of the family's own (``sx`` and
``sxx`` about the family's centre), so its own M-step applies unchanged.

Rows are grouped by their pattern of missing cells within a chunk: each
pattern costs a few batched (over components) Cholesky solves, so the common
case of a handful of patterns stays a few matrix products.
"""

from __future__ import annotations

import numpy as np

from ._cells import split_missing

_LOG_2PI = np.log(2.0 * np.pi)


def missing_patterns(missing):
    """The distinct rows of a missing-cell mask and every row's pattern number.

    With at most 62 columns a row's pattern is one integer (a bit per
    column), so grouping costs one 1-D sort rather than a sort of rows.

    Parameters
    ----------
    missing : ndarray of shape (n_samples, n_features) of bool

    Returns
    -------
    patterns : ndarray of shape (n_patterns, n_features) of bool
    inverse : ndarray of shape (n_samples,) of int
    """
    d = missing.shape[1]
    if d > 62:
        patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
        return patterns, inverse.ravel()
    bits = np.left_shift(np.int64(1), np.arange(d, dtype=np.int64))
    codes, inverse = np.unique(missing @ bits, return_inverse=True)
    patterns = (codes[:, None] & bits[None, :]) != 0
    return patterns, inverse.ravel()


def pattern_groups(missing):
    """Rows sorted by missingness pattern: the order, each pattern's first sorted row, the patterns.

    One stable sort of the rows' pattern codes (a bit per column up to 62
    columns); every pattern's rows are then one contiguous slice of the
    sorted rows, so a pattern's conditioning reads and writes slices.

    Parameters
    ----------
    missing : ndarray of shape (n_samples, n_features) of bool

    Returns
    -------
    order : ndarray of shape (n_samples,) of int
        Row numbers sorted by pattern (stable within a pattern).
    starts : ndarray of shape (n_patterns,) of int
        Position in ``order`` of every pattern's first row (increasing).
    patterns : ndarray of shape (n_patterns, n_features) of bool
    """
    n, d = missing.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros((0, d), bool)
    if d > 62:
        _, codes = np.unique(missing, axis=0, return_inverse=True)
        codes = codes.ravel()
    else:
        codes = missing @ np.left_shift(np.int64(1), np.arange(d, dtype=np.int64))
        if d <= 15:  # 16-bit codes sort by radix, several times faster
            codes = codes.astype(np.int16)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return order, starts, missing[order[starts]]


def conditional_log_prob(family, X, params):
    """Log density of every row's observed cells under every component.

    The rows are sorted by missingness pattern once (:func:`pattern_groups`),
    so each pattern is conditioned once per call on a contiguous slice of
    rows: one batched (over components) Cholesky factor of ``S_oo`` and its
    inverse, then matrix products for the Mahalanobis terms, the
    conditional means and the conditional covariance.

    Parameters
    ----------
    family : GaussianFamily
    X : ndarray of shape (n_samples, n_features)
        NaN marks a missing cell.
    params : dict
        ``means`` (n_components, n_features) and the family's covariances.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        0 for a row with no observed cell.
    cache : tuple
        What :func:`conditional_stats` needs: the row order, the first
        sorted row of every pattern, the completed rows in that order minus
        the family's centre, of shape (n_components, n_samples, n_features),
        and every pattern's conditional covariance, of shape
        (n_patterns, n_components, n_features, n_features).
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(params["means"], dtype=np.float64)
    covs = np.asarray(family.covariance_matrices(params), dtype=np.float64)
    K, d = means.shape
    n = X.shape[0]
    centre = family._centre(d)
    order, starts, patterns = pattern_groups(np.isnan(X))
    Xs = X[order]
    bounds = np.r_[starts, n]
    lp_sorted = np.zeros((n, K))
    Y = np.empty((K, n, d))  # completed rows (sorted by pattern) minus the centre
    cond = np.zeros((len(starts), K, d, d))
    for p, pattern in enumerate(patterns):
        rows = slice(bounds[p], bounds[p + 1])
        oi, mi = np.flatnonzero(~pattern), np.flatnonzero(pattern)
        Yp = Y[:, rows]
        if oi.size == 0:  # nothing observed: the prior moments
            Yp[:] = (means - centre)[:, None, :]
            cond[p] = covs
            continue
        x_o = Xs[rows][:, oi]                                        # (r, do)
        S_oo = covs[:, oi[:, None], oi[None, :]]                     # (K, do, do)
        L = np.linalg.cholesky(S_oo)
        U = np.swapaxes(np.linalg.inv(L), 1, 2)                      # S_oo^-1 = U U^T
        diff = x_o[None] - means[:, None, oi]                        # (K, r, do)
        z = diff @ U
        log_det = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        lp_sorted[rows] = (-0.5 * np.einsum("kri,kri->rk", z, z)
                           - log_det - 0.5 * oi.size * _LOG_2PI)
        Yp[:, :, oi] = x_o - centre[oi]
        if mi.size:
            S_om = covs[:, oi[:, None], mi[None, :]]                 # (K, do, dm)
            A = U @ (np.swapaxes(U, 1, 2) @ S_om)                    # S_oo^-1 S_om
            Yp[:, :, mi] = (means[:, None, mi] - centre[mi]) + diff @ A
            C = covs[:, mi[:, None], mi[None, :]] - np.swapaxes(S_om, 1, 2) @ A
            cond[p][:, mi[:, None], mi[None, :]] = 0.5 * (C + np.swapaxes(C, 1, 2))
    lp = np.empty_like(lp_sorted)
    lp[order] = lp_sorted
    return lp, (order, starts, Y, cond)


def conditional_stats(family, resp, cache) -> dict:
    """Expected sufficient statistics given the observed cells.

    ``resp`` of shape (n_samples, n_components) holds the responsibilities
    times the sample weights, and ``cache`` comes from
    :func:`conditional_log_prob` of the same rows and parameters.

    Returns
    -------
    stats : dict
        ``sx`` (n_components, n_features) and ``sxx`` in the family's layout
        ((K, d, d) full, (d, d) tied, (K, d) diag and spherical).
    """
    order, starts, Y, cond = cache
    R = np.asarray(resp, dtype=np.float64)[order]                    # rows in the cache's order
    RT = np.ascontiguousarray(R.T)
    sx = (RT[:, None, :] @ Y)[:, 0, :]
    sxx = np.swapaxes(Y * RT[:, :, None], 1, 2) @ Y                  # (K, d, d)
    if len(starts):
        # plus every pattern's conditional covariance, weighted by its rows' responsibilities
        per_pattern = np.add.reduceat(R, starts, axis=0)             # (P, K)
        sxx += np.einsum("pk,pkab->kab", per_pattern, cond)
    ct = family.covariance_type
    if ct == "tied":
        return {"sx": sx, "sxx": sxx.sum(axis=0)}
    if ct in ("diag", "spherical"):
        return {"sx": sx, "sxx": np.diagonal(sxx, axis1=1, axis2=2).copy()}
    return {"sx": sx, "sxx": sxx}


#: covariance types whose missing cells are dropped factors (the others condition)
CELL_TYPES = ("diag", "spherical")


def cells_cache(family, X):
    """:func:`~emkit.families._cells.split_missing` of the chunk less the family's centre:
    ``(X0, O)``, the centred chunk with missing cells at 0 and the 0/1 mask of observed cells."""
    X = np.asarray(X, dtype=np.float64)
    return split_missing(X - family._centre(X.shape[1]))


def cells_log_prob(family, X, params):
    """Log density of every row's observed cells, diagonal or spherical covariances.

    ``sum_j O_ij log N(x_ij; mu_kj, s_kj)`` as five matrix products.  Takes and
    returns what :func:`conditional_log_prob` does, with ``precisions_cholesky``
    ((K, d) diag, (K,) spherical) in ``params`` and ``(X0, O)`` of
    :func:`cells_cache` as the cache.
    """
    X0, O = cells_cache(family, X)
    K, d = np.shape(params["means"])
    m = np.asarray(params["means"], dtype=np.float64) - family._centre(d)
    P = np.asarray(params["precisions_cholesky"], dtype=np.float64)
    P = np.broadcast_to(P[:, None] if P.ndim == 1 else P, (K, d))
    P2 = P * P
    lp = (X0 @ (m * P2).T - 0.5 * ((X0 * X0) @ P2.T)
          + O @ (np.log(P) - 0.5 * m * m * P2).T
          - 0.5 * _LOG_2PI * O.sum(axis=1)[:, None])
    return lp, (X0, O)


def cells_stats(resp, cache) -> dict:
    """``sx``, ``sxx`` (K, d) of the observed cells and their weight per feature ``nkj``."""
    X0, O = cache
    R = np.asarray(resp, dtype=np.float64)
    return {"sx": R.T @ X0, "sxx": R.T @ (X0 * X0), "nkj": R.T @ O}


class MissingCellHooks:
    """The missing-value hooks of :class:`~emkit.families.gaussian.GaussianFamily` (a base
    class of it): which path a covariance type takes, and the path's E-step and statistics."""

    @property
    def cells_when_complete(self) -> bool:
        """Diag and spherical drop missing cells' factors: every chunk takes that path."""
        return self.covariance_type in CELL_TYPES

    @property
    def missing_cache(self):
        """Diag, spherical: ``(X, aux) ->`` what :meth:`suff_stats_missing` needs, from the
        data alone (a start's statistics); None for full and tied (they condition)."""
        if not self.cells_when_complete:
            return None
        return lambda X, aux: cells_cache(self, X)

    def log_prob_missing(self, X, params, aux):
        """:meth:`log_prob` of the observed cells of rows with NaN cells, and a cache.

        See :mod:`emkit.families._gaussian_missing` (dropped factors for diag
        and spherical, conditioning for full and tied).
        """
        if self.cells_when_complete:
            return cells_log_prob(self, X, params)
        return conditional_log_prob(self, X, params)

    def suff_stats_missing(self, resp, cache):
        """Statistics of the observed cells (diag, spherical), or expected given them."""
        if self.cells_when_complete:
            return cells_stats(resp, cache)
        return conditional_stats(self, resp, cache)


__all__ = ["CELL_TYPES", "MissingCellHooks", "cells_cache", "cells_log_prob", "cells_stats",
           "conditional_log_prob", "conditional_stats", "missing_patterns", "pattern_groups"]
