"""Binomial components: success counts out of known numbers of trials.

Row ``i`` holds success counts ``x_ij`` out of ``n_ij`` trials (the trials
travel with the rows in ``aux["n_trials"]``, shape (n_samples, n_features) or
(n_samples, 1) when every feature of a row has the same number).  Component
``k`` gives the row the probability
``prod_j C(n_ij, x_ij) p_kj^x_ij (1 - p_kj)^(n_ij - x_ij)``; the E-step is two
matrix products plus the log binomial coefficients, and the M-step is
``p_kj = sum_i r_ik x_ij / sum_i r_ik n_ij`` (the two- and three-coin
examples of Do & Batzoglou, "What is the expectation maximization
algorithm?", Nature Biotechnology 26(8):897-899, 2008).

Probabilities of exactly 0 or 1 are valid parameters; their logarithms are
floored at :data:`emkit.families._discrete.LOG_FLOOR` so every score stays
finite (see that module for the exact rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from ._base import Family
from ._describe import Description
from ._discrete import check_unit_interval, expit, floored_log, floored_log1m, logit, ratio_or_pooled


def _trials(X: np.ndarray, aux) -> np.ndarray:
    try:
        n = aux["n_trials"]
    except KeyError:
        raise ValueError("the binomial family needs aux['n_trials'] (trials of every row)") from None
    return np.broadcast_to(np.asarray(n, dtype=np.float64), X.shape)


def log_binomial_coefficient(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log C(n, x)`` elementwise, for non-negative integers ``x <= n``."""
    return gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)


@dataclass(frozen=True, eq=False)
class BinomialFamily(Family):
    """Products of independent binomial distributions with known trials.

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features), the success
    probability of every feature in every component.  ``aux["n_trials"]``
    holds the trials, shape (n_samples, n_features) or (n_samples, 1).
    """

    #: number of trials of every cell when it is the same everywhere (shown only)
    n_trials: int | None = None

    name = "binomial"
    param_names = ("probs",)
    estimator_name = "BinomialMixture"
    data_kind = "discrete"
    cli_params = {"trials": "n_trials"}
    side_data = "n_trials"
    side_data_text = "the number of trials"
    param_labels = {"probs": "p"}
    value_label = "successes"

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        """Log-probability of every row under every component.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Success counts, ``0 <= X <= n_trials``.
        params : dict
            ``probs`` of shape (n_components, n_features).
        aux : dict
            ``n_trials`` of shape (n_samples, n_features) or (n_samples, 1);
            optionally ``log_base_measure`` of shape (n_samples,), the
            precomputed :meth:`log_base_measure`.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
        """
        X = np.asarray(X, dtype=np.float64)
        N = _trials(X, aux)
        p = params["probs"]
        const = aux.get("log_base_measure")
        if const is None:
            const = self.log_base_measure(X, aux)
        return X @ floored_log(p).T + (N - X) @ floored_log1m(p).T + np.asarray(const)[:, None]

    def log_base_measure(self, X, aux) -> np.ndarray:
        """Parameter-free part of the log-probability, ``sum_j log C(n_ij, x_ij)``.

        It does not change between EM iterations, so estimators compute it
        once per call and pass it in ``aux["log_base_measure"]``.

        Returns
        -------
        log_h : ndarray of shape (n_samples,)
        """
        X = np.asarray(X, dtype=np.float64)
        return log_binomial_coefficient(_trials(X, aux), X).sum(axis=1)

    def suff_stats(self, X, resp, aux, cache=None):
        """``sx`` (weighted successes) and ``sn`` (weighted trials), each (K, d)."""
        X = np.asarray(X, dtype=np.float64)
        N = _trials(X, aux)
        return {"sx": resp.T @ X, "sn": resp.T @ N}

    def check_params(self, params):
        check_unit_interval(np.asarray(params["probs"]), "probs")

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        if "probs" in fixed:
            return {"probs": np.array(params["probs"], dtype=np.float64)}
        p = ratio_or_pooled(stats["sx"], stats["sn"])
        return {"probs": np.clip(p, 0.0, 1.0)}

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return 0 if "probs" in fixed else int(np.asarray(params["probs"]).size)

    def sample(self, params, labels, rng, aux):
        """Draw success counts; int64 array of shape (len(labels), n_features)."""
        p = np.asarray(params["probs"])[labels]
        N = np.broadcast_to(np.asarray(aux["n_trials"]), p.shape).astype(np.int64)
        return rng.binomial(N, p).astype(np.int64)

    # ------------------------------------------------------------ description
    def settings(self):
        return {"n_trials": self.n_trials}

    def describe(self, params):
        base = super().describe(params)
        summary = () if self.n_trials is None else (f"{self.n_trials} trials",)
        return Description(fields=base.fields, summary=summary, columns=base.columns)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        """The pmf averaged over the plotted rows' numbers of trials."""
        p = np.asarray(params["probs"], dtype=np.float64)[:, feature:feature + 1]
        N = np.asarray(aux["n_trials"])
        trials, counts = np.unique(N[:, min(feature, N.shape[1] - 1)], return_counts=True)
        x = np.asarray(x, dtype=np.float64)[None, None, :]
        n = trials[:, None, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pmf = (log_binomial_coefficient(n, x) + xlogy(x, p[None]) + xlogy(n - x, 1.0 - p[None]))
        pmf = np.where(x <= n, np.exp(log_pmf), 0.0)  # (trial values, K, m)
        return np.einsum("t,tkm->km", counts / counts.sum(), pmf)

    def marginal_range(self, params, feature, x, aux):
        N = np.asarray(aux["n_trials"])
        return 0, int(max(np.max(N[:, min(feature, N.shape[1] - 1)]), np.max(x)))

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        """Logits of the probabilities (clipped to ``[1e-12, 1 - 1e-12]``)."""
        return {} if "probs" in fixed else {"probs_logit": logit(params["probs"])}

    def from_unconstrained(self, theta, params, fixed):
        if "probs" in fixed:
            return {"probs": np.array(params["probs"], dtype=np.float64)}
        return {"probs": expit(theta["probs_logit"])}


__all__ = ["BinomialFamily", "log_binomial_coefficient"]
