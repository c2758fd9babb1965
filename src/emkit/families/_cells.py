"""Missing cells of product families: the missing cell's factor dropped.

A product family (Bernoulli, binomial, Poisson, categorical, exponential)
gives a row the product over its features of one factor each, so under
missingness at random the density of a row's observed cells is the product
over the observed features only, and the exact EM step leaves a missing cell
out of its feature's statistics (Little & Rubin, *Statistical Analysis with
Missing Data*, 2nd ed., Wiley 2002, ch. 8 and 11; Hunt & Jorgensen, CSDA
41:429-440, 2003).  With ``X0`` the chunk with its NaN cells set to the
family's :attr:`~emkit.families.Family.missing_fill` and ``O`` the 0/1 mask
of observed cells, every E-step below stays a few matrix products, and each
feature's denominator in the M-step is its own observed weight
``nkj = resp.T @ O`` of shape (n_components, n_features) instead of ``nk``.

:class:`CellMixin` gives a product family the two hooks the missing-value
machinery asks for (``log_prob_missing`` and ``suff_stats_missing``, as the
Gaussian family has by conditioning) plus ``missing_cache``, which makes the
cache from the data alone (the statistics of a start need no parameters).
A family implements ``_cells_log_prob(X0, O, params, aux)`` and
``_cells_stats(X0, O, resp, aux)``.
"""

from __future__ import annotations

import numpy as np


def split_missing(X, fill: float = 0.0):
    """``X`` with NaN cells set to ``fill`` (float64) and the observed mask (float64 0/1).

    Returns
    -------
    X0 : ndarray of shape (n_samples, n_features)
    O : ndarray of shape (n_samples, n_features)
    """
    X = np.asarray(X, dtype=np.float64)
    seen = ~np.isnan(X)
    return np.where(seen, X, fill), seen.astype(np.float64)


def observed_counts(stats, shape) -> np.ndarray:
    """Per-feature observed weight ``nkj`` when present, else ``nk`` broadcast to ``shape``."""
    if "nkj" in stats:
        return stats["nkj"]
    return np.broadcast_to(stats["nk"][:, None], shape)


class CellMixin:
    """Missing-cell hooks of a product family (see the module docstring)."""

    #: the cell path gives other statistics than the complete-data path, so
    #: every chunk of a fit with missing values takes it
    cells_when_complete = True

    def missing_cache(self, X, aux):
        """What :meth:`suff_stats_missing` needs, from the data alone."""
        X0, O = split_missing(X, self.missing_fill)
        return (X0, O, aux)

    def log_prob_missing(self, X, params, aux):
        """Log density of every row's observed cells, shape (n_samples, n_components), and a cache."""
        cache = self.missing_cache(X, aux)
        X0, O, _ = cache
        return self._cells_log_prob(X0, O, params, aux), cache

    def suff_stats_missing(self, resp, cache) -> dict:
        """Statistics of the observed cells, with ``nkj`` (or the trials ``sn``)."""
        X0, O, aux = cache
        return self._cells_stats(X0, O, resp, aux)


__all__ = ["CellMixin", "observed_counts", "split_missing"]
