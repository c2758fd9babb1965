"""Family-agnostic scikit-learn style estimator on top of the EM engine."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import (
    check_choice,
    check_finite,
    check_float_param,
    check_int_param,
    check_sample_weight,
)
from ..backends.dask_backend import DaskBackend, is_dask_array, persist_rows
from ..backends.numpy_backend import Data, NumpyBackend
from ..engine.em import params_from_resp, run_em
from ._dask import DaskPredictMixin
from ._online import OnlineMixin
from ..engine.init import INIT_METHODS, initial_resp
from ..exceptions import DegenerateComponentWarning
from ..families._base import Family

logger = logging.getLogger("emkit")

ACCELERATIONS = ("squarem",)


class BaseMixture(OnlineMixin, DaskPredictMixin, DensityMixin, BaseEstimator):
    """Shared surface of every emkit mixture estimator.

    Subclasses declare their family through a few hooks:

    - ``_param_attrs``: mapping of family parameter names to fitted attribute
      names (``{"means": "means_", ...}``);
    - ``_make_family(data)`` / ``_fitted_family()``: the family used to fit
      and to predict;
    - ``_user_init_params(n_features)``: validated user initial values;
    - optional ``_check_support(X)``, ``_aux(X, kwargs, fitting)``,
      ``_set_derived()``.
    """

    _param_attrs: dict = {}
    _dtypes = (np.float64,)

    # ----------------------------------------------------------- validation
    def _check_common_params(self, family_param_names) -> None:
        check_int_param(self.n_components, "n_components", 1)
        check_float_param(self.tol, "tol", 0.0)
        check_int_param(self.max_iter, "max_iter", 0)
        check_int_param(self.n_init, "n_init", 1)
        check_choice(self.init_params, "init_params", self._init_methods())
        check_int_param(self.verbose, "verbose", 0)
        check_int_param(self.verbose_interval, "verbose_interval", 1)
        check_int_param(self.chunk_size, "chunk_size", 1, allow_none=True)
        if self.acceleration is not None:
            check_choice(self.acceleration, "acceleration", ACCELERATIONS)
        allowed = ("weights",) + tuple(family_param_names)
        for name in self._fixed_names():
            if name not in allowed:
                raise ValueError(
                    f"fixed contains {name!r}; {type(self).__name__} can hold fixed only "
                    f"{', '.join(repr(a) for a in allowed)}"
                )

    def _init_methods(self):
        return INIT_METHODS

    def _fixed_names(self) -> frozenset:
        fixed = self.fixed
        if fixed is None:
            return frozenset()
        if isinstance(fixed, str):
            fixed = (fixed,)
        try:
            names = frozenset(fixed)
        except TypeError:
            raise ValueError(f"fixed must be a sequence of parameter names, got {fixed!r}") from None
        for name in names:
            if not isinstance(name, str):
                raise ValueError(f"fixed must hold parameter names (strings), got {name!r}")
        return names

    def _check_weights_init(self) -> np.ndarray | None:
        if self.weights_init is None:
            return None
        w = np.asarray(self.weights_init, dtype=np.float64)
        K = self.n_components
        if w.shape != (K,):
            raise ValueError(
                f"weights_init has shape {w.shape}, but n_components={K} needs shape ({K},)"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
            raise ValueError(f"weights_init must lie in [0, 1], got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights_init must sum to 1, but sums to {w.sum():.10g}")
        return w / w.sum()

    def _validate_X(self, X, reset: bool, persist: bool = True, lazy: bool = False) -> np.ndarray:
        if is_dask_array(X):
            return self._validate_dask_X(X, reset, persist, lazy)
        X = validate_data(
            self, X, reset=reset, dtype=list(self._dtypes), ensure_all_finite=False,
            ensure_min_samples=2 if reset else 1,
        )
        check_finite(X)
        self._check_support(X)
        return X

    def _validate_dask_X(self, X, reset: bool, persist: bool = True, lazy: bool = False):
        """Checks of ``_validate_X`` for a dask array, run block by block on the workers.

        When fitting (``reset``) ``X`` is persisted on the cluster first
        (unless ``persist`` is False), so the check and every later pass read
        the persisted blocks and each source block is computed once per fit.
        ``lazy`` skips the check here; :meth:`_block_problem` then runs inside
        each block of the lazy result.
        """
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got a {X.ndim}-D dask array; reshape it to (n_samples, n_features)"
            )
        n, d = X.shape
        if not np.isfinite(n):
            raise ValueError("the dask array has unknown row-block sizes; call X.compute_chunk_sizes() first")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric, but the dask array has dtype {X.dtype}")
        if X.dtype not in self._dtypes:
            X = X.astype(self._dtypes[0])
        if reset:
            if n < 2:
                raise ValueError(f"Found array with {n} sample(s) while a minimum of 2 is required.")
            self.n_features_in_ = d
        elif d != self.n_features_in_:
            raise ValueError(
                f"X has {d} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

        X = persist_rows(X, persist=reset and persist)
        if lazy:
            return X
        messages = DaskBackend().map_blocks_offset(
            lambda block, start: self._block_problem(block.X, start), Data(X, np.ones(n))
        )
        bad = [m for m in messages if m]
        if bad:
            raise ValueError(bad[0])
        return X

    def _block_problem(self, X, start: int) -> str:
        """Why the rows ``start:start + len(X)`` of a dask array are unusable, or ''."""
        try:
            check_finite(X, row_offset=start)
        except ValueError as exc:
            return str(exc)
        try:
            self._check_support(X)
        except ValueError as exc:
            stop = start + X.shape[0] - 1
            return (f"{exc} (rows counted from {start}: the dask row block of rows "
                    f"{start} to {stop})")
        return ""

    def _backend_for(self, X):
        """Dask arrays run on their own row blocks; anything else in NumPy chunks."""
        return DaskBackend(self.chunk_size) if is_dask_array(X) else NumpyBackend(self.chunk_size)

    def _check_support(self, X) -> None:
        """Raise ValueError for values outside the family's support."""

    def _aux(self, X, kwargs: dict, fitting: bool) -> dict:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {', '.join(sorted(kwargs))}"
            )
        return {}

    # -------------------------------------------------------- fitted params
    def _fitted_params(self) -> dict:
        params = {"weights": self.weights_}
        for key, attr in self._param_attrs.items():
            params[key] = getattr(self, attr)
        return params

    def _store_params(self, params: dict) -> None:
        self.weights_ = np.asarray(params["weights"], dtype=np.float64)
        for key, attr in self._param_attrs.items():
            setattr(self, attr, np.asarray(params[key]))
        self._set_derived()

    def _set_derived(self) -> None:
        """Set attributes derived from the parameters (e.g. precisions_)."""

    def _initial_params(self, family: Family, data: Data, backend: NumpyBackend, rng) -> dict:
        user = self._user_init_params(data.n_features)
        weights = self._check_weights_init()
        if weights is not None:
            user["weights"] = weights
        needed = {"weights", *self._param_attrs}
        if needed.issubset(user):
            return user
        resp = self._initial_resp(data, backend, rng)
        params = params_from_resp(family, data, resp, backend)
        params.update(user)
        return params

    def _initial_resp(self, data: Data, backend: NumpyBackend, rng) -> np.ndarray:
        """Initial responsibilities, shape (n_samples, n_components).

        Subclasses may adjust them (for example soften hard labels).
        """
        return initial_resp(self.init_params, data, self.n_components, rng, backend)

    def _user_init_params(self, n_features: int) -> dict:
        return {}

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, sample_weight=None, **kwargs):
        """Estimate the mixture parameters with EM.

        Runs ``n_init`` initialisations and keeps the one with the highest
        log-likelihood; each runs until the mean per-sample log-likelihood
        changes by less than ``tol`` or ``max_iter`` iterations are done.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight ``k`` acts like ``k``
            copies of the row and 0 like dropping it.
        persist : bool, default=True
            Keyword only, for a dask ``X``: persist ``X`` and the per-row side
            data on the cluster once per fit (False recomputes the source in
            every pass, for data larger than the cluster's memory).

        Returns
        -------
        self : object
        """
        self._fit(X, sample_weight, kwargs)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, **kwargs):
        """Fit, then return the most likely component of every row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        self._fit(X, sample_weight, kwargs)
        return self.predict(X, **{k: v for k, v in kwargs.items() if k != "callback"})

    def _fit(self, X, sample_weight, kwargs):
        callback = kwargs.pop("callback", None)
        catch_interrupt = bool(kwargs.pop("catch_interrupt", False))
        persist = bool(kwargs.pop("persist", True))
        self._check_parameters()
        X = self._validate_X(X, reset=True, persist=persist)
        n = X.shape[0]
        K = self.n_components
        if K > n:
            raise ValueError(
                f"n_components={K} is larger than the number of samples ({n}); "
                "fit fewer components or supply more rows"
            )
        w = check_sample_weight(sample_weight, n)
        if np.count_nonzero(w) < K:
            raise ValueError(
                f"only {np.count_nonzero(w)} rows have a positive sample_weight, fewer than "
                f"n_components={K}"
            )
        aux = self._aux(X, kwargs, fitting=True)
        data = Data(X, w, aux)
        backend = DaskBackend(self.chunk_size, persist) if is_dask_array(X) else self._backend_for(X)
        family = self._make_family(data, backend)
        fixed = self._fixed_names()
        rng = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "converged_")
        n_init = 1 if warm else self.n_init
        best = None
        for init in range(n_init):
            params0 = self._fitted_params() if warm else self._initial_params(family, data, backend, rng)
            if self.verbose:
                logger.info("%s: initialisation %d of %d", type(self).__name__, init + 1, n_init)
            result = run_em(
                family, params0, data, backend, tol=self.tol, max_iter=self.max_iter,
                fixed=fixed, acceleration=self.acceleration, callback=callback,
                catch_interrupt=catch_interrupt, verbose=self.verbose,
                verbose_interval=self.verbose_interval,
            )
            if self.verbose:
                logger.info(
                    "initialisation %d: %s after %d iterations, mean log-likelihood %.10g",
                    init + 1, "converged" if result.converged else "not converged",
                    result.n_iter, result.lower_bound,
                )
            if best is None or result.lower_bound > best.lower_bound:
                best = result
            if result.interrupted:
                break
        self._store_params(best.params)
        self._family = family
        self._online_state = None  # a later partial_fit starts afresh
        self.converged_ = bool(best.converged)
        self.n_iter_ = int(best.n_iter)
        self.lower_bound_ = float(best.lower_bound)
        self.history_ = best.history
        self.interrupted_ = bool(best.interrupted)
        if not best.converged:
            reason = (
                "was interrupted" if best.interrupted
                else f"did not converge within max_iter={self.max_iter} iterations"
            )
            warnings.warn(
                f"{type(self).__name__}: the best of {n_init} initialisation(s) {reason} "
                f"(tol={self.tol:g}); increase max_iter, loosen tol, or check the data",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.degenerate_components_ = list(family.degenerate_components(best.params))
        if self.degenerate_components_:
            warnings.warn(
                f"{type(self).__name__}: component(s) {self.degenerate_components_} collapsed onto "
                "a spurious maximum (variance at the reg_covar floor, typical of rounded or "
                "repeated values); treat this fit with care or exclude it from model selection",
                DegenerateComponentWarning,
                stacklevel=3,
            )
        return best

    # ------------------------------------------------------------- predict
    def _predict_data(self, X, kwargs) -> Data:
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        aux = self._aux(X, dict(kwargs), fitting=False)
        return Data(X, np.ones(X.shape[0]), aux)

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
        data = self._predict_data(X, kwargs)
        family = self._fitted_family()
        params = self._fitted_params()
        return self._backend_for(data.X).map_concat(
            lambda ch: family.log_prob(ch.X, params, ch.aux), data, self.n_components
        )

    def _estimate_weighted_log_prob(self, X, kwargs):
        lp = self.component_log_densities(X, **kwargs)
        with np.errstate(divide="ignore"):
            return lp + np.log(self.weights_)

    def _log_norm_and_resp(self, X, kwargs):
        from ..engine.em import normalize_log

        return normalize_log(self._estimate_weighted_log_prob(X, kwargs))

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
        return self._log_norm_and_resp(X, kwargs)[0]

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
        return self._log_norm_and_resp(X, kwargs)[1]

    def predict(self, X, **kwargs):
        """Most likely component of every row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        if is_dask_array(X):
            return self._dask_rows(X, kwargs, "predict")
        return self._estimate_weighted_log_prob(X, kwargs).argmax(axis=1)

    def _n_parameters(self) -> int:
        check_is_fitted(self)
        fixed = self._fixed_names()
        n = self._fitted_family().n_parameters(self._fitted_params(), fixed)
        if "weights" not in fixed:
            n += self.n_components - 1
        return int(n)

    def bic(self, X, **kwargs):
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 log L + p log n`` with ``p`` the number of free parameters
        (parameters held in ``fixed`` are not counted).

        Returns
        -------
        bic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X, **kwargs) * n + self._n_parameters() * np.log(n)

    def aic(self, X, **kwargs):
        """Akaike information criterion on ``X`` (lower is better).

        Returns
        -------
        aic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X, **kwargs) * n + 2 * self._n_parameters()

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
        aux = self._sample_aux(n_samples, kwargs)
        X = self._fitted_family().sample(self._fitted_params(), y, rng, aux)
        return X, y

    def _sample_aux(self, n_samples: int, kwargs: dict) -> dict:
        if kwargs:
            raise TypeError(f"sample got unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
        return {}
