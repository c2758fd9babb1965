"""Multivariate Bernoulli components (independent binary features).

Component ``k`` gives row ``x`` in ``{0, 1}^d`` the probability
``prod_j p_kj^x_j (1 - p_kj)^(1 - x_j)``.  The E-step of a chunk is two matrix
products, ``X @ log(p).T + (1 - X) @ log(1 - p).T``, and the statistics are
one, ``resp.T @ X``; the M-step is ``p_k = sum_i r_ik x_i / sum_i r_ik``
(McLachlan & Peel, *Finite Mixture Models*, Wiley 2000, section 5.6).

Probabilities of exactly 0 or 1 are valid parameters; their logarithms are
floored at :data:`emkit.families._discrete.LOG_FLOOR` so every score stays
finite (see that module for the exact rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Family
from ._discrete import check_unit_interval, expit, floored_log, floored_log1m, logit, ratio_or_pooled


@dataclass(frozen=True, eq=False)
class BernoulliFamily(Family):
    """Products of independent Bernoulli distributions.

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features), the
    probability of a 1 in every feature of every component.
    """

    name = "bernoulli"
    param_names = ("probs",)
    estimator_name = "BernoulliMixture"
    data_kind = "discrete"
    param_labels = {"probs": "p"}
    value_label = "value (0 or 1)"
    ordered = False

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        """Log-probability of every row under every component.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Values in {0, 1}.
        params : dict
            ``probs`` of shape (n_components, n_features).
        aux : dict
            Unused.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
        """
        X = np.asarray(X, dtype=np.float64)
        p = params["probs"]
        return X @ floored_log(p).T + (1.0 - X) @ floored_log1m(p).T

    def suff_stats(self, X, resp, aux, cache=None):
        """``sx``: weighted count of ones, shape (n_components, n_features)."""
        return {"sx": resp.T @ np.asarray(X, dtype=np.float64)}

    def check_params(self, params):
        check_unit_interval(np.asarray(params["probs"]), "probs")

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        if "probs" in fixed:
            return {"probs": np.array(params["probs"], dtype=np.float64)}
        p = ratio_or_pooled(stats["sx"], stats["nk"][:, None])
        return {"probs": np.clip(p, 0.0, 1.0)}

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return 0 if "probs" in fixed else int(np.asarray(params["probs"]).size)

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

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        """Logits of the probabilities (clipped to ``[1e-12, 1 - 1e-12]``)."""
        return {} if "probs" in fixed else {"probs_logit": logit(params["probs"])}

    def from_unconstrained(self, theta, params, fixed):
        if "probs" in fixed:
            return {"probs": np.array(params["probs"], dtype=np.float64)}
        return {"probs": expit(theta["probs_logit"])}


__all__ = ["BernoulliFamily"]
