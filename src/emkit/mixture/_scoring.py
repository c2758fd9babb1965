"""Scoring a fitted mixture: densities, posteriors, labels, criteria, samples.

:class:`ScoringMixin` is the part of :class:`~emkit.mixture._base.BaseMixture`
that uses fitted parameters; every value check and all side data come from
the fitted family.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_int_param, check_sample_weight
from ..backends.dask_backend import is_dask_array
from ..backends.numpy_backend import Data


class ScoringMixin:
    """``predict``, ``predict_proba``, ``score_samples``, ``score``, BIC/AIC/ICL, ``sample``."""

    # ------------------------------------------------------------- predict
    def _predict_data(self, X, kwargs, check: bool = True) -> Data:
        """Data for scoring: shape and side data checked, and with ``check`` the finite values
        and support in a pass of their own (without, the pass that scores each chunk checks
        it first, :meth:`_checked`: one data pass instead of two)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        family = self._fitted_family()
        aux = family.side_aux(X.shape[0], X.shape[1], dict(kwargs), "predict/score")
        data = Data(X, np.ones(X.shape[0]), aux)
        if check:
            family.check_data(data, self._backend_for(X))
        return data

    def _checked(self, fn):
        """``fn(chunk)`` after the chunk's finite values and support are checked (the first
        problem, in row order, raises ValueError as :meth:`_predict_data` would)."""
        family = self._fitted_family()

        def run(chunk):
            family.check_rows(chunk.X, chunk.aux, chunk.start)
            return fn(chunk)

        return run

    def component_log_densities(self, X, **kwargs):
        """Each component's own, unweighted log density of every row.

        ``logsumexp(component_log_densities(X) + log(weights_), axis=1)``
        equals ``score_samples(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples, n_components)
        """
        if is_dask_array(X):
            return self._dask_rows(X, kwargs, "component")
        data = self._predict_data(X, kwargs, check=False)
        family = self._fitted_family()
        params = self._fitted_params()
        return self._backend_for(data.X).map_concat(
            self._checked(lambda ch: family.log_prob(ch.X, params, ch.aux)), data,
            self.n_components)

    def _per_chunk(self, X, kwargs, fn):
        """Apply ``fn(log_norm, resp)`` chunk by chunk and concatenate its row-wise results.

        Only one chunk's (n_chunk, n_components) arrays exist at a time, so
        memory beyond the output is bounded by ``chunk_size``.  A row
        impossible under every component (log density ``-inf``) gets the
        mixing weights as its posterior, never NaN.
        """
        from ..engine.em import normalize_log

        data = self._predict_data(X, kwargs, check=False)
        family = self._fitted_family()
        params = self._fitted_params()
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)

        def run(ch):
            lp = np.asarray(family.log_prob(ch.X, params, ch.aux), dtype=np.float64) + log_w
            with np.errstate(invalid="ignore", divide="ignore"):
                log_norm, resp = normalize_log(lp, log_w)
            return fn(log_norm, resp)

        return self._backend_for(data.X).map_concat(self._checked(run), data, self.n_components)

    def _row_scores(self, X, kwargs):
        """Log density and log of the largest posterior of every row, chunk by chunk.

        Returns
        -------
        scores : ndarray of shape (n_samples, 2)
            Column 0 is ``score_samples(X)``, column 1 ``log max_k tau_ik``
            (for ICL); no (n_samples, n_components) array is built.
        """
        if is_dask_array(X):
            return np.asarray(self._dask_rows(X, kwargs, "row_scores").compute())

        def both(log_norm, resp):
            with np.errstate(divide="ignore"):
                return np.column_stack([log_norm, np.log(resp.max(axis=1))])

        return self._per_chunk(X, kwargs, both)

    def score_samples(self, X, **kwargs):
        """Log density of the mixture at every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        if is_dask_array(X):
            return self._dask_rows(X, kwargs, "score_samples")
        return self._per_chunk(X, kwargs, lambda log_norm, resp: log_norm)

    def score(self, X, y=None, sample_weight=None, **kwargs):
        """Mean (weighted) log-likelihood per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        if is_dask_array(X):
            return self._dask_score(X, sample_weight, kwargs)
        s = self.score_samples(X, **kwargs)
        w = check_sample_weight(sample_weight, s.shape[0])
        return float(np.average(s, weights=w))

    def predict_proba(self, X, **kwargs):
        """Posterior probability of each component for every row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to 1.
        """
        if is_dask_array(X):
            return self._dask_rows(X, kwargs, "predict_proba")
        return self._per_chunk(X, kwargs, lambda log_norm, resp: resp)

    def predict(self, X, **kwargs):
        """Most likely component of every row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        if is_dask_array(X):
            return self._dask_rows(X, kwargs, "predict")
        return self._per_chunk(X, kwargs, lambda log_norm, resp: resp.argmax(axis=1))

    def _n_parameters(self) -> int:
        check_is_fitted(self)
        fixed = self._fixed_names()
        n = self._fitted_family().n_parameters(self._fitted_params(), fixed)
        if "weights" not in fixed:
            n += self.n_components - 1
        return int(n)

    def _fit_summary(self, X, sample_weight=None, **kwargs) -> dict:
        """Total log-likelihood, BIC and AIC of ``X`` from one pass over it.

        With ``sample_weight`` (frequency weights) the log-likelihood is
        weighted and ``sum(sample_weight)`` is the sample size.

        Returns
        -------
        summary : dict
            ``"log_likelihood"``, ``"n"``, ``"bic"``, ``"aic"``, ``"n_parameters"``.
        """
        s = self.score_samples(X, **kwargs)
        if sample_weight is None:
            ll, n = float(s.sum()), float(s.shape[0])
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            ll, n = float(w @ s), float(w.sum())
        p = self._n_parameters()
        return {"log_likelihood": ll, "n": n, "bic": -2.0 * ll + p * np.log(n),
                "aic": -2.0 * ll + 2.0 * p, "n_parameters": p}

    def bic(self, X, **kwargs):
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 log L + p log n`` with ``p`` the number of free parameters
        (parameters held in ``fixed`` are not counted).

        Returns
        -------
        bic : float
        """
        if is_dask_array(X):
            n = X.shape[0]
            return -2 * self.score(X, **kwargs) * n + self._n_parameters() * np.log(n)
        return self._fit_summary(X, **kwargs)["bic"]  # row count from the scores, no np.asarray(X)

    def icl(self, X, **kwargs):
        """Integrated completed likelihood criterion on ``X`` (lower is better).

        ``bic(X) - 2 sum_i log max_k tau_ik``: the BIC plus twice the
        entropy of the hard (MAP) classification, with ``tau`` the posterior
        probabilities, as mclust's ``icl`` (Biernacki, Celeux & Govaert,
        IEEE TPAMI 22:719-725, 2000) on emkit's sign convention (mclust
        reports minus this).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        icl : float
        """
        rows = self._row_scores(X, kwargs)
        n = rows.shape[0]
        return float(-2.0 * rows[:, 0].sum() + self._n_parameters() * np.log(n)
                     - 2.0 * rows[:, 1].sum())

    def aic(self, X, **kwargs):
        """Akaike information criterion on ``X`` (lower is better).

        Returns
        -------
        aic : float
        """
        if is_dask_array(X):
            n = X.shape[0]
            return -2 * self.score(X, **kwargs) * n + 2 * self._n_parameters()
        return self._fit_summary(X, **kwargs)["aic"]

    def sample(self, n_samples=1, **kwargs):
        """Draw rows from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of every row, sorted.
        """
        check_is_fitted(self)
        check_int_param(n_samples, "n_samples", 1)
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        y = np.repeat(np.arange(self.n_components), counts)
        family = self._fitted_family()
        aux = family.side_aux(n_samples, self.n_features_in_, kwargs, "sample")
        X = family.sample(self._fitted_params(), y, rng, aux)
        return X, y
