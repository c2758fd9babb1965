"""Multivariate Bernoulli components (independent binary features).

Component ``k`` gives row ``x`` in ``{0, 1}^d`` the probability
``prod_j p_kj^x_j (1 - p_kj)^(1 - x_j)``.  The E-step of a chunk is two matrix
products, ``X @ log(p).T + (1 - X) @ log(1 - p).T``, and the statistics are
one, ``resp.T @ X``; the M-step is ``p_k = sum_i r_ik x_i / sum_i r_ik``
(McLachlan & Peel, *Finite Mixture Models*, Wiley 2000, section 5.6).

Probabilities of exactly 0 or 1 are valid parameters; their logarithms are
floored at :data:`emkit.families._numerics.LOG_FLOOR` so every score stays
finite (see that module for the exact rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._numerics import floored_log, floored_log1m, raise_bad_cell
from ._probs import ProbabilityFamily


@dataclass(frozen=True, eq=False)
class BernoulliFamily(ProbabilityFamily):
    """Products of independent Bernoulli distributions.

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features), the
    probability of a 1 in every feature of every component.  M-step, initial
    values and SQUAREM coordinates are those of
    :class:`~emkit.families._probs.ProbabilityFamily` with one trial.
    """

    name = "bernoulli"
    estimator_name = "BernoulliMixture"
    column_kinds = ("binary", "two labels")
    value_label = "value (0 or 1)"
    ordered = False

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        """:meth:`Family.log_prob <emkit.families.Family.log_prob>` of 0/1 rows ``X``
        (n_samples, n_features) under ``probs`` (n_components, n_features); ``aux`` unused."""
        X = np.asarray(X, dtype=np.float64)
        p = params["probs"]
        return X @ floored_log(p).T + (1.0 - X) @ floored_log1m(p).T

    def suff_stats(self, X, resp, aux, cache=None):
        """``sx``: weighted count of ones, shape (n_components, n_features)."""
        return {"sx": resp.T @ np.asarray(X, dtype=np.float64)}

    def _cells_log_prob(self, X0, O, params, aux):
        p = params["probs"]
        return X0 @ floored_log(p).T + (O - X0) @ floored_log1m(p).T

    def _cells_stats(self, X0, O, resp, aux):
        # one trial per observed cell: ``sn`` is the observed weight per feature
        return {"sx": resp.T @ X0, "sn": resp.T @ O}

    def check_support(self, X, aux, start=0):
        raise_bad_cell((X != 0) & (X != 1), X, lambda cell, where, r, c:
                       f"BernoulliMixture needs X in {{0, 1}}; {cell} {where}; binarise the "
                       "data or use BinomialMixture for counts", start)

    # ------------------------------------------------------------ bookkeeping
    def sample(self, params, labels, rng, aux):
        """Draw rows; returns an int64 array of shape (len(labels), n_features)."""
        p = np.asarray(params["probs"])[labels]
        return (rng.uniform(size=p.shape) < p).astype(np.int64)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        p = np.asarray(params["probs"], dtype=np.float64)[:, feature:feature + 1]
        x = np.asarray(x)[None, :]
        return np.where(x == 1, p, np.where(x == 0, 1.0 - p, 0.0))

    def marginal_range(self, params, feature, x, aux):
        return 0, 1

    def heatmap(self, params):
        """The probability of a one, per component and feature, on [0, 1]."""
        return "P(x = 1)", np.asarray(params["probs"], dtype=np.float64), (0.0, 1.0)


__all__ = ["BernoulliFamily"]
