"""Exponential components: positive continuous values, one rate per feature.

Component ``k`` gives a row ``x`` of positive values the density
``prod_j lambda_kj exp(-lambda_kj x_j)``, so its log is
``sum_j log(lambda_kj) - X @ lambda.T``: one matrix product per chunk.  The
statistics are ``resp.T @ X`` and the M-step is
``lambda_kj = sum_i r_ik / sum_i r_ik x_ij`` (McLachlan & Peel, *Finite
Mixture Models*, Wiley 2000, section 5.6; Hasselblad, "Estimation of finite
mixtures of distributions from the exponential family", JASA 64:1459-1471,
1969).

The family is the proof of the registry: the estimator
(``ExponentialMixture``), the command line (``--family exponential``), model
files, plots and model selection all come from this file and one line in
:data:`emkit.registry.FAMILY_MODULES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Family
from ._cells import CellMixin, observed_counts
from ._numerics import check_init_array, floored_log, raise_bad_cell, ratio_or_pooled


@dataclass(frozen=True, eq=False)
class ExponentialFamily(CellMixin, Family):
    """Products of independent exponential distributions; the parameters are ``rates`` of
    shape (n_components, n_features), the inverse mean of every feature in every component."""

    name = "exponential"
    missing_fill = 1.0
    param_names = ("rates",)
    estimator_name = "ExponentialMixture"
    init_names = ("rates_init",)
    param_labels = {"rates": "rate"}
    estimator_doc = """Mixture of exponential distributions (positive values) fitted by EM.

    Every component is a product of independent exponential distributions,
    one per feature, with density ``rate * exp(-rate * x)`` for ``x > 0``.

    Parameters
    ----------
    n_components : int, default=1
    rates_init : array-like of shape (n_components, n_features), default=None
        Initial rates (positive).
    tol, max_iter, n_init, init_params, weights_init, random_state,
    warm_start, verbose, verbose_interval, fixed, chunk_size, acceleration, missing
        As for :class:`~emkit.PoissonMixture`; ``fixed`` may hold
        ``"weights"`` and ``"rates"``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    rates_ : ndarray of shape (n_components, n_features)
        Rate (inverse mean) of every feature in every component.
    converged_, n_iter_, lower_bound_, history_, n_features_in_
        As for the other estimators.

    Examples
    --------
    Waiting times from a fast process (mean 1) and a slow one (mean 20), 500
    of each; the fitted rates are one per component and feature:

    >>> import numpy as np
    >>> from emkit import ExponentialMixture
    >>> waits = np.random.default_rng(0).exponential([1.0, 20.0], (500, 2))
    >>> em = ExponentialMixture(2, random_state=0).fit(waits.reshape(-1, 1))
    >>> em.rates_.shape
    (2, 1)
    """

    # ------------------------------------------------------------------ set-up
    def check_support(self, X, aux, start=0):
        raise_bad_cell(~(X > 0), X, lambda cell, where, r, c:
                       f"the exponential family needs positive values; {cell} {where}", start)

    def check_init(self, values, n_components, n_features):
        if "rates_init" not in values:
            return {}
        rates = check_init_array(values["rates_init"], (n_components, n_features), "rates_init")
        if np.any(rates <= 0):
            raise ValueError("rates_init must be positive")
        return {"rates": rates}

    def check_params(self, params):
        if np.any(np.asarray(params["rates"]) <= 0):
            raise ValueError("rates must be positive")

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        """:meth:`Family.log_prob <emkit.families.Family.log_prob>` of positive rows ``X``
        (n_samples, n_features) under ``rates`` (n_components, n_features); ``aux`` unused."""
        rates = np.asarray(params["rates"], dtype=np.float64)
        return floored_log(rates).sum(axis=1)[None, :] - np.asarray(X, dtype=np.float64) @ rates.T

    def suff_stats(self, X, resp, aux, cache=None):
        """``sx``: weighted sums of the values, shape (n_components, n_features)."""
        return {"sx": resp.T @ np.asarray(X, dtype=np.float64)}

    def _cells_log_prob(self, X0, O, params, aux):
        rates = np.asarray(params["rates"], dtype=np.float64)
        return O @ floored_log(rates).T - (X0 * O) @ rates.T

    def _cells_stats(self, X0, O, resp, aux):
        return {"sx": resp.T @ (X0 * O), "nkj": resp.T @ O}

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        sx = stats["sx"]
        return {"rates": ratio_or_pooled(observed_counts(stats, sx.shape), sx)}

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return 0 if "rates" in fixed else int(np.asarray(params["rates"]).size)

    def sample(self, params, labels, rng, aux):
        """Draw positive values; float64 array of shape (len(labels), n_features)."""
        return rng.exponential(1.0 / np.asarray(params["rates"], dtype=np.float64)[labels])

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        rates = np.asarray(params["rates"], dtype=np.float64)[:, feature:feature + 1]
        x = np.asarray(x, dtype=np.float64)[None, :]
        return np.where(x >= 0, rates * np.exp(-rates * np.maximum(x, 0.0)), 0.0)

    def marginal_range(self, params, feature, x, aux):
        """From 0 to the 99th percentile of the slowest component."""
        rates = np.asarray(params["rates"], dtype=np.float64)[:, feature]
        return 0.0, float(np.log(100.0) / rates.min())

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        """Logarithms of the rates."""
        return {"rates_log": np.log(np.asarray(params["rates"], dtype=np.float64))}

    def from_unconstrained(self, theta, params, fixed):
        return {"rates": np.exp(theta["rates_log"])}


__all__ = ["ExponentialFamily"]
