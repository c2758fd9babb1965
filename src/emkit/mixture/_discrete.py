"""Mixtures of discrete distributions: Bernoulli, binomial, Poisson, categorical.

All four are thin wrappers around :class:`~emkit.mixture._base.BaseMixture`:
they validate the support of ``X`` (naming the offending value, its row and
its column), choose the family, and validate user initial values.  The EM
loop, initialisation, chunking, ``fixed`` and acceleration are the shared
ones.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_int_param
from ..backends.numpy_backend import Data, NumpyBackend
from ..families._discrete import check_counts, first_bad_cell
from ..families.bernoulli import BernoulliFamily
from ..families.binomial import BinomialFamily
from ..families.categorical import CategoricalFamily
from ..families.poisson import PoissonFamily
from ._base import BaseMixture

#: share of uniform mass mixed into hard initial responsibilities
_INIT_SOFTENING = 0.1
#: rows per block when precomputing parameter-free log terms
_BASE_MEASURE_BLOCK = 65536


def _cell(idx) -> str:
    """``[i, j, ...]`` of an index tuple (plain ints, whatever their NumPy type)."""
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _check_probs_init(value, shape: tuple, name: str = "probs_init") -> np.ndarray:
    try:
        p = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if p.shape != shape:
        raise ValueError(f"{name} has shape {p.shape}, but shape {shape} is needed "
                         "(n_components, n_features" + (", n_categories)" if len(shape) == 3 else ")"))
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), p.shape)
        raise ValueError(f"{name} must hold probabilities in [0, 1]; {name}{_cell(idx)} = {p[idx]:g}")
    return p


class _DiscreteMixture(BaseMixture):
    """Shared parts of the discrete mixtures."""

    _family_param = "probs"

    def _check_parameters(self):
        self._check_common_params((self._family_param,))

    def _initial_resp(self, data, backend, rng):
        # Hard labels (k-means, nearest seed) would give probabilities of
        # exactly 0 or 1, which EM can never leave: mix in a little uniform mass.
        resp = super()._initial_resp(data, backend, rng)
        K = resp.shape[1]
        return (1.0 - _INIT_SOFTENING) * resp + _INIT_SOFTENING / K

    def _make_family(self, data: Data, backend: NumpyBackend):
        return self._family_type()

    def _first_bad_cell(self, X, aux: dict, mask_fn):
        """``(row, column, value)`` of the first cell flagged by ``mask_fn``, or None.

        ``mask_fn(chunk)`` returns a boolean (n_chunk, n_features) mask; it
        runs chunk by chunk on the fitting backend, so a dask array is
        checked block by block on the workers.
        """
        data = Data(X, np.ones(X.shape[0]), aux)

        def first_column(chunk):
            mask = np.asarray(mask_fn(chunk))
            return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)

        cols = self._backend_for(X).map_concat(first_column, data)
        rows = np.flatnonzero(cols >= 0)
        if rows.size == 0:
            return None
        r, c = int(rows[0]), int(cols[rows[0]])
        return r, c, float(np.asarray(X[r, c]))

    def _with_base_measure(self, X, aux: dict) -> dict:
        """Add the parameter-free log term of every row to ``aux``.

        Families with such a term (binomial coefficients, ``log x!``) would
        otherwise recompute it in every EM iteration.  Computed in row blocks,
        so no full-size temporary is made; left to the family for inputs that
        are not NumPy arrays (they are evaluated chunk by chunk anyway).
        """
        if not isinstance(X, np.ndarray):
            return aux
        family = self._family_type()
        step = _BASE_MEASURE_BLOCK
        parts = [
            family.log_base_measure(X[s:s + step], {k: v[s:s + step] for k, v in aux.items()})
            for s in range(0, X.shape[0], step)
        ]
        return {**aux, "log_base_measure": np.concatenate(parts)}

    def _fitted_family(self):
        check_is_fitted(self)
        return self._family_type()


_COMMON_DOC = """    tol : float, default=1e-3
        Convergence threshold on the change of the mean per-sample
        log-likelihood between iterations.
    max_iter : int, default=100
        Maximum number of EM iterations (M-steps) per initialisation.
    n_init : int, default=1
        Number of initialisations; the best log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How initial responsibilities are drawn (k-means on the rows,
        k-means++ seeds, random soft responsibilities, random rows as
        centres).  Hard labels are softened by mixing in 10% uniform mass,
        so initial probabilities are never exactly 0 or 1 unless the data is.
    weights_init : array-like of shape (n_components,), default=None
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start the next ``fit`` from the current parameters.
    verbose : int, default=0
    verbose_interval : int, default=10
    fixed : sequence of str, default=()
        Parameters held at their initial values: ``"weights"`` and/or ``"{p}"``.
    chunk_size : int or None, default=None
        Rows processed at once; ``None`` keeps temporaries near 32 MiB.
    acceleration : {None, "squarem"}, default=None
        ``None`` runs plain EM.
"""

_ATTR_DOC = """    converged_ : bool
    n_iter_ : int
        Number of M-steps of the best run.
    lower_bound_ : float
        Mean per-sample log-likelihood of the fitted parameters.
    history_ : ndarray of shape (n_iter_,)
        Mean per-sample log-likelihood after every iteration of the best run.
    n_features_in_ : int
"""


class BernoulliMixture(_DiscreteMixture):
    __doc__ = f"""Mixture of multivariate Bernoulli distributions fitted by EM.

    Every component is a product of independent Bernoulli distributions, one
    per feature (latent class model for binary data).

    Parameters
    ----------
    n_components : int, default=1
    probs_init : array-like of shape (n_components, n_features), default=None
        Initial probabilities of a 1.
{_COMMON_DOC.replace("{p}", "probs")}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    probs_ : ndarray of shape (n_components, n_features)
        Probability of a 1 in every feature of every component.
{_ATTR_DOC}
    Notes
    -----
    ``X`` must hold only 0 and 1.  Probabilities of exactly 0 or 1 are valid;
    their logarithms are floored at ``log(tiny) ~ -708.4`` so scores stay finite.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import BernoulliMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.random((200, 4)) < .9, rng.random((200, 4)) < .1].astype(int)
    >>> bm = BernoulliMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(bm.probs_.mean(axis=1)), 1)
    array([0.1, 0.9])
    """

    _family_type = BernoulliFamily
    _param_attrs = {"probs": "probs_"}

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        probs_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        fixed=(),
        chunk_size=None,
        acceleration=None,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.probs_init = probs_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.fixed = fixed
        self.chunk_size = chunk_size
        self.acceleration = acceleration

    def _check_support(self, X):
        cell = first_bad_cell((X != 0) & (X != 1))
        if cell is not None:
            r, c = cell
            raise ValueError(
                f"BernoulliMixture needs X in {{0, 1}}; X[{r}, {c}] = {X[r, c]:g} "
                f"(row {r}, column {c}); binarise the data or use BinomialMixture for counts"
            )

    def _user_init_params(self, n_features):
        if self.probs_init is None:
            return {}
        return {"probs": _check_probs_init(self.probs_init, (self.n_components, n_features))}


class BinomialMixture(_DiscreteMixture):
    __doc__ = f"""Mixture of binomial distributions (success counts) fitted by EM.

    Every component is a product of independent binomial distributions, one
    per feature, with known numbers of trials.  The two- and three-coin
    examples of Do & Batzoglou (Nature Biotechnology 26(8):897, 2008) are
    this estimator with one feature and ``n_trials=10``.

    Parameters
    ----------
    n_components : int, default=1
    n_trials : int or None, default=None
        Number of trials of every cell, when it is the same everywhere.
        Trials that differ per row are passed to ``fit`` (and to ``predict``,
        ``score``, ... ) as the keyword ``n_trials``: an int, an array of
        shape (n_samples,) (one number per row, all features) or
        (n_samples, n_features).
    probs_init : array-like of shape (n_components, n_features), default=None
        Initial success probabilities.
{_COMMON_DOC.replace("{p}", "probs")}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    probs_ : ndarray of shape (n_components, n_features)
        Success probability of every feature in every component.
{_ATTR_DOC}
    Notes
    -----
    Log-likelihoods include the binomial coefficients.  Probabilities of
    exactly 0 or 1 are valid; their logarithms are floored at
    ``log(tiny) ~ -708.4`` so scores stay finite.

    Examples
    --------
    The two coins of Do & Batzoglou, weights held at 0.5:

    >>> import numpy as np
    >>> from emkit import BinomialMixture
    >>> heads = np.array([[5], [9], [8], [4], [7]])
    >>> bm = BinomialMixture(2, n_trials=10, fixed=("weights",), weights_init=[.5, .5],
    ...                      probs_init=[[.6], [.5]], tol=1e-10, max_iter=1000).fit(heads)
    >>> np.round(bm.probs_.ravel(), 2)
    array([0.8 , 0.52])
    """

    _family_type = BinomialFamily
    _param_attrs = {"probs": "probs_"}

    def __init__(
        self,
        n_components=1,
        *,
        n_trials=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        probs_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        fixed=(),
        chunk_size=None,
        acceleration=None,
    ):
        self.n_components = n_components
        self.n_trials = n_trials
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.probs_init = probs_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.fixed = fixed
        self.chunk_size = chunk_size
        self.acceleration = acceleration

    def _fitted_family(self):
        check_is_fitted(self)
        return BinomialFamily(self.n_trials)

    def _check_parameters(self):
        if self.n_trials is not None:
            check_int_param(self.n_trials, "n_trials", 0)
        super()._check_parameters()

    def _check_support(self, X):
        check_counts(X, "success counts")

    def _trials(self, n_samples: int, n_features: int, n_trials, where: str) -> np.ndarray:
        """Validated trials as an (n_samples, n_features) or (n_samples, 1) array."""
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
            return np.full((n_samples, 1), float(n_trials))
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
        cell = first_bad_cell(~np.isfinite(N) | (N < 0) | (N != np.floor(N)))
        if cell is not None:
            r, c = cell
            raise ValueError(
                f"n_trials must hold non-negative integers; n_trials[{r}, {c}] = {N[r, c]:g} "
                f"(row {r}, column {c})"
            )
        return N

    def _aux(self, X, kwargs, fitting):
        kwargs = dict(kwargs)
        n_trials = kwargs.pop("n_trials", None)
        if kwargs:
            raise TypeError(
                f"BinomialMixture got unexpected keyword argument(s) {', '.join(sorted(kwargs))}"
            )
        n, d = X.shape
        N = self._trials(n, d, n_trials, "fit" if fitting else "predict/score")
        cell = self._first_bad_cell(X, {"n_trials": N}, lambda ch: ch.X > ch.aux["n_trials"])
        if cell is not None:
            r, c, v = cell
            raise ValueError(
                f"successes exceed trials: X[{r}, {c}] = {v:g} but n_trials is "
                f"{N[r, min(c, N.shape[1] - 1)]:g} (row {r}, column {c})"
            )
        return self._with_base_measure(X, {"n_trials": N})

    def _sample_aux(self, n_samples, kwargs):
        kwargs = dict(kwargs)
        n_trials = kwargs.pop("n_trials", None)
        if kwargs:
            raise TypeError(f"sample got unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
        return {"n_trials": self._trials(n_samples, self.n_features_in_, n_trials, "sample")}

    def _user_init_params(self, n_features):
        if self.probs_init is None:
            return {}
        return {"probs": _check_probs_init(self.probs_init, (self.n_components, n_features))}


class PoissonMixture(_DiscreteMixture):
    __doc__ = f"""Mixture of Poisson distributions (counts) fitted by EM.

    Every component is a product of independent Poisson distributions, one
    per feature.

    Parameters
    ----------
    n_components : int, default=1
    rates_init : array-like of shape (n_components, n_features), default=None
        Initial rates (non-negative).
{_COMMON_DOC.replace("{p}", "rates")}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    rates_ : ndarray of shape (n_components, n_features)
        Mean count of every feature in every component.
{_ATTR_DOC}
    Notes
    -----
    A rate of exactly 0 is valid; its logarithm is floored at
    ``log(tiny) ~ -708.4`` so a positive count scores finitely.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import PoissonMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.poisson(2, (300, 1)), rng.poisson(20, (300, 1))]
    >>> pm = PoissonMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(pm.rates_.ravel()))
    array([ 2., 20.])
    """

    _family_type = PoissonFamily
    _param_attrs = {"rates": "rates_"}
    _family_param = "rates"

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        rates_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        fixed=(),
        chunk_size=None,
        acceleration=None,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.rates_init = rates_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.fixed = fixed
        self.chunk_size = chunk_size
        self.acceleration = acceleration

    def _check_support(self, X):
        check_counts(X, "counts")

    def _aux(self, X, kwargs, fitting):
        return self._with_base_measure(X, super()._aux(X, kwargs, fitting))

    def _user_init_params(self, n_features):
        if self.rates_init is None:
            return {}
        shape = (self.n_components, n_features)
        try:
            rates = np.asarray(self.rates_init, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rates_init must be numeric: {exc}") from None
        if rates.shape != shape:
            raise ValueError(
                f"rates_init has shape {rates.shape}, but shape {shape} is needed "
                "(n_components, n_features)"
            )
        bad = ~np.isfinite(rates) | (rates < 0)
        if bad.any():
            idx = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), shape)
            raise ValueError(
                f"rates_init must be finite and non-negative; rates_init{_cell(idx)} = {rates[idx]:g}"
            )
        return {"rates": rates}


class CategoricalMixture(_DiscreteMixture):
    __doc__ = f"""Mixture of categorical distributions (latent class model) fitted by EM.

    Every component is a product of independent categorical distributions,
    one per feature; ``X`` holds integer codes ``0 .. n_categories - 1``.

    Parameters
    ----------
    n_components : int, default=1
    n_categories : int or None, default=None
        Number of categories ``C`` shared by all features; ``None`` takes
        ``X.max() + 1`` at ``fit`` (or the last axis of ``probs_init``).
    probs_init : array-like of shape (n_components, n_features, n_categories), default=None
        Initial category probabilities; every ``probs_init[k, j]`` sums to 1.
{_COMMON_DOC.replace("{p}", "probs")}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    probs_ : ndarray of shape (n_components, n_features, n_categories)
    n_categories_ : int
{_ATTR_DOC}
    Notes
    -----
    Category probabilities of exactly 0 are valid; their logarithms are
    floored at ``log(tiny) ~ -708.4`` so scores stay finite.

    References
    ----------
    Goodman, L. A. (1974). Exploratory latent structure analysis using both
    identifiable and unidentifiable models. Biometrika 61(2):215-231.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import CategoricalMixture
    >>> X = np.r_[np.zeros((50, 3), int), np.full((50, 3), 2)]
    >>> cm = CategoricalMixture(2, random_state=0).fit(X)
    >>> cm.n_categories_, cm.probs_.shape
    (3, (2, 3, 3))
    """

    _family_type = CategoricalFamily
    _param_attrs = {"probs": "probs_"}

    def __init__(
        self,
        n_components=1,
        *,
        n_categories=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        probs_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        fixed=(),
        chunk_size=None,
        acceleration=None,
    ):
        self.n_components = n_components
        self.n_categories = n_categories
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.probs_init = probs_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.fixed = fixed
        self.chunk_size = chunk_size
        self.acceleration = acceleration

    def _check_parameters(self):
        if self.n_categories is not None:
            check_int_param(self.n_categories, "n_categories", 1)
        super()._check_parameters()

    def _check_codes_below(self, X, C: int, source: str) -> None:
        cell = self._first_bad_cell(X, {}, lambda ch: ch.X >= C)
        if cell is not None:
            r, c, v = cell
            raise ValueError(
                f"category code X[{r}, {c}] = {v:g} (row {r}, column {c}) is not below "
                f"{source} = {C}; codes must lie in 0 .. {C - 1}"
            )

    def _check_support(self, X):
        check_counts(X, "category codes (0 .. n_categories - 1)")
        if self.n_categories is not None:
            self._check_codes_below(X, self.n_categories, "n_categories")

    def _validate_X(self, X, reset, **kw):
        X = super()._validate_X(X, reset, **kw)
        if not reset:
            self._check_codes_below(X, self.n_categories_, "the fitted n_categories_")
        return X

    def _make_family(self, data, backend):
        fitted = self.warm_start and hasattr(self, "probs_")
        if self.n_categories is not None:
            C = int(self.n_categories)
        else:
            # the largest code seen, or more when probs_init / a warm start say so
            C = int(backend.map_concat(lambda ch: np.max(ch.X, axis=1), data).max()) + 1
            if self.probs_init is not None and np.ndim(self.probs_init) == 3:
                C = max(C, np.shape(self.probs_init)[2])
            if fitted:
                C = max(C, self.probs_.shape[2])
        if fitted and self.probs_.shape[2] != C:
            raise ValueError(
                f"warm_start: the fitted model has {self.probs_.shape[2]} categories but "
                f"n_categories={C} now; refit with warm_start=False"
            )
        self._fit_n_categories = C
        return CategoricalFamily(C)

    def _fitted_family(self):
        check_is_fitted(self)
        return CategoricalFamily(int(self.probs_.shape[2]))

    def _set_derived(self):
        self.n_categories_ = int(self.probs_.shape[2])

    def _user_init_params(self, n_features):
        if self.probs_init is None:
            return {}
        C = self._fit_n_categories
        p = _check_probs_init(self.probs_init, (self.n_components, n_features, C))
        sums = p.sum(axis=2)
        bad = np.abs(sums - 1.0) > 1e-6
        if bad.any():
            k, j = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), sums.shape)
            raise ValueError(
                f"probs_init[{k}, {j}] must sum to 1 over the categories, but sums to {sums[k, j]:.10g}"
            )
        return {"probs": p / sums[:, :, None]}


__all__ = ["BernoulliMixture", "BinomialMixture", "CategoricalMixture", "PoissonMixture"]
