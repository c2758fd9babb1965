"""Poisson components: independent counts per feature.

Component ``k`` gives a row of counts ``x`` the probability
``prod_j exp(-lambda_kj) lambda_kj^x_j / x_j!``, so its log is
``X @ log(lambda).T - lambda.sum(axis=1) - sum_j log(x_j!)``: one matrix
product per chunk.  The M-step is ``lambda_k = sum_i r_ik x_i / sum_i r_ik``
(McLachlan & Peel, *Finite Mixture Models*, Wiley 2000, section 5.6; Karlis &
Xekalaki, "Choosing initial values for the EM algorithm for finite mixtures",
CSDA 41:577-590, 2003).

A rate of exactly 0 is a valid parameter (a feature that is always 0 in a
component); its logarithm is floored at
:data:`emkit.families._numerics.LOG_FLOOR` so a non-zero count gets a very
low but finite score, while a zero count scores exactly ``log(1) = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from ._base import Family
from ._cells import CellMixin, observed_counts
from ._numerics import CLIP, check_counts, check_init_array, floored_log, ratio_or_pooled


@dataclass(frozen=True, eq=False)
class PoissonFamily(CellMixin, Family):
    """Products of independent Poisson distributions; the parameters are ``rates`` of shape
    (n_components, n_features), the mean count of every feature in every component."""

    name = "poisson"
    param_names = ("rates",)
    estimator_name = "PoissonMixture"
    column_kinds = ("binary", "count")
    init_names = ("rates_init",)
    data_kind = "discrete"
    param_labels = {"rates": "rate"}
    value_label = "count"
    init_softening = 0.1

    # ------------------------------------------------------------------ set-up
    def check_support(self, X, aux, start=0):
        check_counts(X, "counts", row_offset=start)

    def check_init(self, values, n_components, n_features):
        if "rates_init" not in values:
            return {}
        return {"rates": check_init_array(values["rates_init"], (n_components, n_features),
                                          "rates_init")}

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        """:meth:`Family.log_prob <emkit.families.Family.log_prob>` of counts ``X``
        (n_samples, n_features) under ``rates`` (n_components, n_features); ``aux`` may hold
        ``log_base_measure`` (n_samples,), the precomputed :meth:`log_base_measure`."""
        X = np.asarray(X, dtype=np.float64)
        rates = np.asarray(params["rates"], dtype=np.float64)
        const = self.base_measure_of(X, aux)
        return X @ floored_log(rates).T + (np.asarray(const)[:, None] - rates.sum(axis=1)[None, :])

    def log_base_measure(self, X, aux) -> np.ndarray:
        """Parameter-free part of the log-probability, ``-sum_j log(x_ij!)``.

        It does not change between EM iterations, so estimators compute it
        once per call and pass it in ``aux["log_base_measure"]``.

        Returns
        -------
        log_h : ndarray of shape (n_samples,)
        """
        return -gammaln(np.asarray(X, dtype=np.float64) + 1.0).sum(axis=1)

    def suff_stats(self, X, resp, aux, cache=None):
        """``sx``: weighted count sums, shape (n_components, n_features)."""
        return {"sx": resp.T @ np.asarray(X, dtype=np.float64)}

    def _cells_log_prob(self, X0, O, params, aux):
        rates = np.asarray(params["rates"], dtype=np.float64)
        # log 0! = 0: a missing cell (X0 = 0) adds nothing to the base measure
        return X0 @ floored_log(rates).T - O @ rates.T + self.log_base_measure(X0, aux)[:, None]

    def _cells_stats(self, X0, O, resp, aux):
        return {"sx": resp.T @ X0, "nkj": resp.T @ O}

    def check_params(self, params):
        rates = np.asarray(params["rates"])
        bad = np.flatnonzero((rates < 0).ravel())
        if bad.size:
            idx = tuple(int(i) for i in np.unravel_index(int(bad[0]), rates.shape))
            raise ValueError(f"rates{list(idx)} = {rates[idx]:g} is negative; rates must be >= 0")

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        sx = stats["sx"]
        rates = ratio_or_pooled(sx, observed_counts(stats, sx.shape))
        return {"rates": np.maximum(rates, 0.0)}

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return 0 if "rates" in fixed else int(np.asarray(params["rates"]).size)

    def sample(self, params, labels, rng, aux):
        """Draw counts; int64 array of shape (len(labels), n_features)."""
        return rng.poisson(np.asarray(params["rates"])[labels]).astype(np.int64)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        rates = np.asarray(params["rates"], dtype=np.float64)[:, feature:feature + 1]
        x = np.asarray(x, dtype=np.float64)[None, :]
        with np.errstate(divide="ignore"):
            return np.exp(xlogy(x, rates) - rates - gammaln(x + 1.0))

    def marginal_range(self, params, feature, x, aux):
        top = float(np.max(np.asarray(params["rates"], dtype=np.float64)[:, feature]))
        return 0, int(max(np.max(x), np.ceil(top + 4 * np.sqrt(top))))

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        """Logarithms of the rates (clipped below at 1e-12)."""
        return {"rates_log": np.log(np.maximum(np.asarray(params["rates"], dtype=np.float64), CLIP))}

    def from_unconstrained(self, theta, params, fixed):
        return {"rates": np.exp(theta["rates_log"])}


__all__ = ["PoissonFamily"]
