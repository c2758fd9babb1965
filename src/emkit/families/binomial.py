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
floored at :data:`emkit.families._numerics.LOG_FLOOR` so every score stays
finite (see that module for the exact rule).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from .._validation import check_int_param

from ._describe import Description
from ._numerics import check_counts, floored_log, floored_log1m, raise_bad_cell
from ._probs import ProbabilityFamily

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
class BinomialFamily(ProbabilityFamily):
    """Products of independent binomial distributions with known trials.

    Parameters
    ----------
    n_trials : int or None
        Trials of every cell when it is the same everywhere; ``None`` means
        they come per row with the data (the ``n_trials`` keyword).

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features), the success
    probability of every feature in every component.  ``aux["n_trials"]``
    holds the trials, shape (n_samples, n_features) or (n_samples, 1).
    """

    n_trials: int | None = None

    name = "binomial"
    estimator_name = "BinomialMixture"
    settings_params = ("n_trials",)
    cli_params = {"trials": "n_trials"}
    side_data = "n_trials"
    side_data_text = "the number of trials"
    value_label = "successes"

    # ------------------------------------------------------------------ set-up
    def check_settings(self):
        if self.n_trials is not None:
            check_int_param(self.n_trials, "n_trials", 0)

    def side_aux(self, n_samples, n_features, kwargs, where):
        """``{"n_trials": N}`` with N of shape (n_samples, n_features) or (n_samples, 1)."""
        kwargs = dict(kwargs)
        n_trials = kwargs.pop("n_trials", None)
        super().side_aux(n_samples, n_features, kwargs, self.estimator_name)
        if n_trials is None:
            n_trials = self.n_trials
        if n_trials is None:
            raise ValueError(
                f"BinomialMixture needs the number of trials: pass n_trials=<int> to the "
                f"constructor, or n_trials=<int or array of shape ({n_samples},) or "
                f"({n_samples}, {n_features})> to {where}"
            )
        if isinstance(n_trials, numbers.Number) and not isinstance(n_trials, bool):
            check_int_param(n_trials, "n_trials", 0)
            return {"n_trials": np.full((n_samples, 1), float(n_trials))}
        try:
            N = np.asarray(n_trials, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"n_trials must be numeric: {exc}") from None
        if N.ndim == 1 and N.shape[0] == n_samples:
            N = N[:, None]
        elif not (N.ndim == 2 and N.shape[0] == n_samples and N.shape[1] in (1, n_features)):
            raise ValueError(
                f"n_trials has shape {N.shape}, but X has shape ({n_samples}, {n_features}): "
                f"pass an int, an array of shape ({n_samples},) with the trials of every row, "
                f"or ({n_samples}, {n_features}) with the trials of every cell"
            )
        raise_bad_cell(~np.isfinite(N) | (N < 0) | (N != np.floor(N)), N,
                       lambda cell, where, r, c:
                       f"n_trials must hold non-negative integers; {cell} {where}",
                       name="n_trials")
        return {"n_trials": N}

    def check_support(self, X, aux, start=0):
        """Non-negative integer counts, at most the trials (when ``aux`` holds them)."""
        check_counts(X, "success counts", row_offset=start)
        if "n_trials" not in aux:
            return
        N = _trials(X, aux)
        raise_bad_cell(X > N, X, lambda cell, where, r, c:
                       f"successes exceed trials: {cell} but n_trials is {N[r, c]:g} {where}",
                       start)

    def log_prob(self, X, params, aux):
        """:meth:`Family.log_prob <emkit.families.Family.log_prob>` of success counts ``X``
        (n_samples, n_features), ``0 <= X <= n_trials``, under ``probs`` (n_components,
        n_features).  ``aux`` holds ``n_trials`` ((n_samples, n_features) or (n_samples, 1))
        and optionally ``log_base_measure`` (n_samples,), the precomputed
        :meth:`log_base_measure`."""
        X = np.asarray(X, dtype=np.float64)
        N = _trials(X, aux)
        p = params["probs"]
        const = self.base_measure_of(X, aux)
        return X @ floored_log(p).T + (N - X) @ floored_log1m(p).T + np.asarray(const)[:, None]

    def log_base_measure(self, X, aux) -> np.ndarray:
        """Parameter-free part of the log-probability, ``sum_j log C(n_ij, x_ij)``.

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

    def _cells_log_prob(self, X0, O, params, aux):
        N = _trials(X0, aux) * O
        p = params["probs"]
        # log C(n, 0) = 0: a missing cell (X0 = 0, N = 0) adds nothing to the base measure
        const = log_binomial_coefficient(N, X0).sum(axis=1)
        return X0 @ floored_log(p).T + (N - X0) @ floored_log1m(p).T + const[:, None]

    def _cells_stats(self, X0, O, resp, aux):
        return {"sx": resp.T @ X0, "sn": resp.T @ (_trials(X0, aux) * O)}

    # ------------------------------------------------------------ bookkeeping
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


__all__ = ["BinomialFamily", "log_binomial_coefficient"]
