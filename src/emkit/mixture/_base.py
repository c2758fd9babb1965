"""Family-agnostic scikit-learn style estimator on top of the EM engine."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_sample_weight
from ..backends.dask_backend import DaskBackend, is_dask_array
from ..backends.numpy_backend import Data, NumpyBackend
from ..engine.em import LabelKeeper, run_em
from ..engine.init import make_start, params_from_start
from ..engine._short_runs import drive_alone
from ..engine.starts import START_ERRORS, auto_starts_steps, is_tie, mbhac_start
from ..exceptions import DegenerateComponentWarning, DroppedStartWarning, LikelihoodDecreaseWarning
from ._dask import DaskPredictMixin
from ._inputs import InputsMixin
from ._online import OnlineMixin
from ..families._base import Family
from ._checks import check_dask_sample_weight
from ._scoring import ScoringMixin
from ._together import Runs, drive_fit, plain_decides, run_together, together

logger = logging.getLogger("emkit")
_USER = 5  # stack level of the user's call in _fit_steps' warnings (fit, _fit, drive_fit)


def _persist_default() -> bool:
    import dask

    return bool(dask.config.get("emkit.persist", True))


def _better(a, b) -> bool:
    """Run ``a`` beats the earlier run ``b``: a better rank, and not a tie of log-likelihoods."""
    if a.degenerate != b.degenerate:
        return not a.degenerate
    if not np.isfinite(a.lower_bound):
        return False
    if not np.isfinite(b.lower_bound):
        return True
    return a.lower_bound > b.lower_bound and not is_tie(a.lower_bound, b.lower_bound)


def failures_error(owner: str, failures: list) -> Exception:
    """The error raised when every start failed: the first failure's type, every reason."""
    first = failures[0][1]
    if len(failures) == 1:
        return first
    reasons = "; ".join(f"{name}: {exc}" for name, exc in failures)
    cls = type(first) if isinstance(first, ValueError) else ValueError
    try:
        err = cls(f"{owner}: every start failed ({len(failures)}). {reasons}")
    except TypeError:
        err = ValueError(f"{owner}: every start failed ({len(failures)}). {reasons}")
    return err


class BaseMixture(InputsMixin, ScoringMixin, OnlineMixin, DaskPredictMixin, DensityMixin,
                  BaseEstimator):
    """Shared surface of every emkit mixture estimator.

    A subclass is a constructor plus two class attributes:

    - ``_family_type``: the :class:`~emkit.families.Family` it fits; the
      constructor parameters named in its ``settings_params`` configure it and
      those in its ``init_names`` hold initial values;
    - ``_param_attrs``: family parameter name -> fitted attribute name
      (``{"means": "means_", ...}``).

    Everything family-specific (checks of settings, data and initial values,
    data-dependent set-up, side data, derived attributes) is the family's.
    """

    _family_type: type[Family] = Family
    _param_attrs: dict = {}

    def __init_subclass__(cls, **kwargs):
        """Give a subclass that fits a family and writes no ``__init__`` the generated one."""
        super().__init_subclass__(**kwargs)
        if "__init__" not in vars(cls) and cls._family_type is not Family:
            from ._factory import make_init

            cls.__init__ = make_init(cls._family_type)

    # ----------------------------------------------------------- the family
    @property
    def _dtypes(self) -> tuple:
        return self._family_type.dtypes

    def _configured_family(self) -> Family:
        """The family configured by the constructor parameters (before any data).

        With ``missing="marginalize"`` (and the number of features known) it
        is wrapped in :class:`~emkit.families._marginal.MarginalFamily`, which
        integrates out NaN cells.
        """
        settings = {p: getattr(self, p) for p in self._family_type.settings_params}
        family = self._family_type(**settings)
        if self._marginalize() and hasattr(self, "n_features_in_"):
            from ..families._marginal import MarginalFamily

            family = MarginalFamily.wrap(family, self.n_features_in_,
                                         getattr(self, "feature_names_in_", None))
        return family

    def _marginalize(self) -> bool:
        return getattr(self, "missing", "error") == "marginalize"

    def _fitted_family(self) -> Family:
        """The family that scores with the fitted parameters."""
        check_is_fitted(self)
        return self._configured_family().for_params(self._fitted_params())

    def _init_values(self) -> dict:
        """The constructor's initial values that were given (``{"means_init": ...}``)."""
        return {n: getattr(self, n) for n in self._family_type.init_names
                if getattr(self, n) is not None}

    def _check_parameters(self) -> None:
        family = self._configured_family()
        family.check_settings()
        family.check_missing_policy(self._marginalize())
        self._check_common_params(self._family_type.param_names)
        if self.init_params == "mbhac" and not family.hierarchical_start:
            raise ValueError(
                f"init_params='mbhac' (Gaussian model-based agglomeration) is not available for "
                f"{type(self).__name__}; use 'auto', 'kmeans' or 'random_from_data'"
            )

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
        for attr, value in self._fitted_family().derived(params).items():
            setattr(self, attr, value)

    def _starts(self, family: Family, data: Data, backend: NumpyBackend, rng, fixed: frozenset,
                init: int):
        """:meth:`_starts_steps` alone."""
        return drive_alone(self._starts_steps(family, data, backend, rng, fixed, init))

    def _starts_steps(self, family: Family, data: Data, backend: NumpyBackend, rng,
                      fixed: frozenset, init: int):
        """Starting parameters of one initialisation: a list of ``(name, params)``.
        A generator that may yield the short runs of the default start
        (:func:`~emkit.engine.starts.auto_starts_steps`).

        ``init_params="auto"`` gives the best few short runs of
        :func:`~emkit.engine.starts.auto_starts`; the scikit-learn methods give
        one start each.  User-given initial values replace the start's; when
        they cover every parameter they are the only start.  Starts that fail
        are returned as ``(name, exception)``.
        """
        user = family.check_init(self._init_values(), self.n_components, data.n_features)
        weights = self._check_weights_init()
        if weights is not None:
            user["weights"] = weights
        needed = {"weights", *self._param_attrs}
        if needed.issubset(user):
            return [("given initial parameters", user)]
        method = self.init_params
        tag = f"initialisation {init + 1}"
        if method == "auto" and not user:
            best, failed = yield from auto_starts_steps(family, data, self.n_components, rng,
                                                        backend, fixed=fixed,
                                                        label=f"{type(self).__name__} {tag}")
            out = [(f"{tag} ({c.name})", c.params) for c in best]
            out += [(f"{tag} ({msg.split(':', 1)[0]})", ValueError(msg.split(': ', 1)[-1]))
                    for msg in failed] if not best else []
            return out
        if method == "auto":
            method = "kmeans"  # partial user values: complete them from one k-means start
        soft = float(family.init_softening)
        name = f"{tag} ({method})"
        try:
            if method == "mbhac":
                params = mbhac_start(family, data, self.n_components, backend)
            else:
                start = make_start(method, data, self.n_components, rng, backend, softening=soft,
                                   transform=family.start_transform())
                params = params_from_start(family, data, start, backend)
        except START_ERRORS as exc:
            return [(name, exc)]
        params.update(user)
        return [(name, params)]

    def _initial_params(self, family: Family, data: Data, backend: NumpyBackend, rng) -> dict:
        """Parameters of the first start that works (``partial_fit``'s first batch)."""
        starts = self._starts(family, data, backend, rng, frozenset(), 0)
        for _, params in starts:
            if not isinstance(params, Exception):
                return params
        raise failures_error(type(self).__name__, starts)

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
        persist : bool, default=None
            Keyword only, for a dask ``X``: persist ``X`` and the per-row side
            data on the cluster once per fit (False recomputes the source in
            every pass, for data larger than the cluster's memory).  ``None``
            reads dask's configuration value ``emkit.persist`` (default True).

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
        predict_kwargs = {k: v for k, v in kwargs.items() if k != "callback"}
        keeper = LabelKeeper()
        self._fit(X, sample_weight, kwargs, keeper)
        if keeper.chosen is not None:  # from the kept run's final E-step: no extra pass
            return keeper.chosen
        return self.predict(X, **predict_kwargs)

    def _fit(self, X, sample_weight, kwargs, keeper=None):
        return drive_fit(self._fit_steps(X, sample_weight, kwargs, keeper))

    def _fit_steps(self, X, sample_weight, kwargs, keeper=None):
        """``_fit`` as a generator: yields each initialisation's :class:`~._together.Runs`,
        receives their results (see :mod:`._together`), returns the kept run."""
        callback = kwargs.pop("callback", None)
        catch_interrupt = bool(kwargs.pop("catch_interrupt", False))
        persist = kwargs.pop("persist", None)
        if persist is None:
            persist = not is_dask_array(X) or _persist_default()
        persist = bool(persist)
        self._check_parameters()
        X = self._validate_X(X, reset=True, persist=persist)
        n = X.shape[0]
        K = self.n_components
        if K > n:
            raise ValueError(
                f"n_components={K} is larger than the number of samples ({n}); "
                "fit fewer components or supply more rows"
            )
        if is_dask_array(X):  # the weights stay on the workers
            w, n_positive = check_dask_sample_weight(sample_weight, X, persist)
        else:
            w = check_sample_weight(sample_weight, n)
            # only ratios of weights matter: scaled to a largest weight of 1, weights of 1e-20
            # or 1e20 fit like ones (the M-step's guard against empty components is absolute)
            w = w / w.max()
            n_positive = int(np.count_nonzero(w))
        if n_positive < K:
            raise ValueError(
                f"only {n_positive} rows have a positive sample_weight, fewer than "
                f"n_components={K}"
            )
        base = self._configured_family()
        aux = base.side_aux(n, X.shape[1], kwargs, "fit")
        backend = DaskBackend(self.chunk_size, persist) if is_dask_array(X) else self._backend_for(X)
        warm = self.warm_start and hasattr(self, "converged_")
        family, data = base.prepare(Data(X, w, aux), backend,
                                    {**self._init_values(), **(self._fitted_params() if warm else {})})
        fixed = self._fixed_names()
        rng = check_random_state(self.random_state)
        n_init = 1 if warm else self.n_init
        best = None
        failures: list[str] = []
        n_runs = 0
        for init in range(n_init):
            starts = ([("warm start", self._fitted_params())] if warm
                      else (yield from self._starts_steps(family, data, backend, rng, fixed, init)))
            if self.verbose:
                logger.info("%s: initialisation %d of %d (%d run(s))", type(self).__name__, init + 1,
                            n_init, len(starts))
            for result in (yield Runs(self, family, starts, data, backend, fixed, callback,
                                      catch_interrupt, failures, keeper)):
                n_runs += 1
                if result is None:
                    continue
                result.degenerate = bool(family.degenerate_components(result.params))
                chosen = best is None or _better(result, best)
                if keeper is not None:
                    keeper.run_done(result.params, chosen)
                if chosen:
                    best = result
                if result.interrupted:
                    break
            if best is not None and best.interrupted:
                break
        if best is None:
            raise failures_error(type(self).__name__, failures)
        for name, exc in failures:
            warnings.warn(
                f"{type(self).__name__}: {name} was dropped ({exc}); the fit goes on with the "
                "other starts",
                DroppedStartWarning,
                stacklevel=_USER,
            )
        self._store_params(best.params)
        self._online_state = None  # a later partial_fit starts afresh
        self.converged_ = bool(best.converged)
        self.n_iter_ = int(best.n_iter)
        self.lower_bound_ = float(best.lower_bound)
        self.history_ = best.history
        self.interrupted_ = bool(best.interrupted)
        self.plateau_ = bool(best.plateau)
        if not best.converged:
            if best.interrupted:
                reason = "was interrupted"
            elif best.plateau:
                reason = (f"stopped on a slow plateau at max_iter={self.max_iter} data passes: the "
                          "log-likelihood still rises by less than tol per step but has not reached "
                          "its limit")
            else:
                reason = f"did not converge within max_iter={self.max_iter} data passes"
            warnings.warn(
                f"{type(self).__name__}: the best of {n_runs} run(s) {reason} "
                f"(tol={self.tol:g}); increase max_iter, use acceleration='squarem', loosen tol, "
                "or check the data",
                ConvergenceWarning,
                stacklevel=_USER,
            )
        self.degenerate_components_ = list(family.degenerate_components(best.params))
        if best.extra.get("n_decreases") and not self.degenerate_components_:
            # only the kept run: a run that collapsed has its own warning below
            warnings.warn(best.extra["first_decrease"], LikelihoodDecreaseWarning, stacklevel=_USER)
        self.n_passes_ = int(best.extra.get("n_passes", best.n_iter + 1))
        if self.degenerate_components_:
            warnings.warn(
                f"{type(self).__name__}: component(s) {self.degenerate_components_} collapsed onto "
                "a spurious maximum (variance at the reg_covar floor, typical of rounded or "
                "repeated values); treat this fit with care or exclude it from model selection",
                DegenerateComponentWarning,
                stacklevel=_USER,
            )
        return best

    def _run_starts(self, family, starts, data, backend, fixed, callback, catch_interrupt,
                    failures, keeper=None):
        """Per start in order, its EM result or None (failed); together on small data."""
        runs = Runs(self, family, starts, data, backend, fixed, callback, catch_interrupt,
                    failures, keeper)
        if together(runs):
            yield from run_together(runs, _better)
            return
        for name, params0 in starts:
            yield self._run_start(family, name, params0, data, backend, fixed, callback,
                                  catch_interrupt, failures, keeper)

    def _run_start(self, family, name, params0, data, backend, fixed, callback, catch_interrupt,
                   failures, keeper=None):
        """EM from one start; a failing start is dropped with a warning (None)."""
        if isinstance(params0, Exception):
            exc = params0
        else:
            if self.verbose:
                logger.info("%s: %s", type(self).__name__, name)
            try:
                result = run_em(
                    family, params0, data, backend, tol=self.tol, max_iter=self.max_iter,
                    fixed=fixed, acceleration=self.acceleration, callback=callback,
                    catch_interrupt=catch_interrupt, verbose=self.verbose,
                    verbose_interval=self.verbose_interval, label=f"{type(self).__name__} {name}",
                    warn_decrease=False, keeper=keeper,
                )
                if (self.acceleration is not None and not result.interrupted
                        and family.degenerate_components(result.params)):
                    result = plain_decides(self, family, name, params0, result, data, backend,
                                           fixed, _better, catch_interrupt, keeper)
            except START_ERRORS as exc_:
                exc = exc_
            else:
                if self.verbose:
                    logger.info(
                        "%s: %s after %d data passes, mean log-likelihood %.10g", name,
                        "converged" if result.converged else "not converged",
                        result.n_iter, result.lower_bound,
                    )
                return result
        failures.append((name, exc))
        return None
