"""Prediction and scoring of a fitted mixture on a dask array, computed where the rows live."""

from __future__ import annotations

import functools

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_sample_weight
from ..backends.dask_backend import DaskBackend, check_message, is_dask_array
from ..backends.numpy_backend import Data
from ..engine.em import normalize_log


class DaskPredictMixin:
    """``predict``, ``predict_proba``, ``score_samples`` (lazy) and ``score`` for dask input."""

    def _dask_rows(self, X, kwargs, what: str):
        """Lazy row-wise result on a dask ``X``.

        Parameters
        ----------
        what : {"component", "score_samples", "predict_proba", "predict", "row_scores"}
            ``"row_scores"``: log density and log of the largest posterior, (n_samples, 2).

        Returns
        -------
        dask array of shape (n_samples,) or (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, lazy=True)
        aux = self._aux(X, dict(kwargs), fitting=False)
        family = self._fitted_family()
        if aux:  # values checked against the side data (binomial trials) in one pass
            family.check_data(Data(X, np.ones(X.shape[0]), aux), DaskBackend(self.chunk_size))
        params = self._fitted_params()
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)

        def rows(chunk):
            lp = family.log_prob(chunk.X, params, chunk.aux)
            if what == "component":
                return lp
            lp = lp + log_w
            if what == "predict":
                return lp.argmax(axis=1)
            log_norm, resp = normalize_log(lp, log_w)
            if what == "row_scores":
                with np.errstate(divide="ignore"):
                    return np.column_stack([log_norm, np.log(resp.max(axis=1))])
            return log_norm if what == "score_samples" else resp

        K = self.n_components
        n_columns = {"component": K, "predict_proba": K, "row_scores": 2}.get(what)
        dtype = np.intp if what == "predict" else np.float64
        data = Data(X, np.ones(0), aux)
        # the tasks carry the family and its parameters, never the estimator: a worker that
        # unpickles them imports the engine and the families, not scikit-learn
        check = functools.partial(check_message, family.check_rows)
        return DaskBackend(self.chunk_size).lazy_rows(rows, data, K, n_columns, dtype, check=check)

    def _dask_score(self, X, sample_weight, kwargs) -> float:
        """Mean (weighted) log-likelihood of a dask ``X``, reduced on the cluster."""
        s = self._dask_rows(X, kwargs, "score_samples")
        if sample_weight is None:
            return float(s.mean().compute())
        if is_dask_array(sample_weight):
            w = sample_weight.astype(np.float64).rechunk(s.chunks)
        else:
            import dask.array as da

            w = da.from_array(check_sample_weight(sample_weight, s.shape[0]), chunks=s.chunks)
        import dask

        num, den = dask.compute((s * w).sum(), w.sum())
        return float(num / den)
