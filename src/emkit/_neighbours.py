"""Warm starts along the number of components: split one, merge two.

A fit with ``K`` components can start from the fitted ``K - 1`` model with
one component split in two, or from the fitted ``K + 1`` model with two
components merged.  The moves themselves (built from responsibilities
through the family's own M-step, so they work for every family) are
described and implemented in :mod:`emkit._neighbour_moves`.  These are the
split and merge moves of Ueda, Nakano, Ghahramani & Hinton
(SMEM, Neural Computation 12:2109-2128, 2000), used as starts along ``K`` as
in the model-selection strategies reviewed by Biernacki, Celeux & Govaert
(CSDA 41:561-575, 2003).  A split start of the ``K - 1`` optimum begins close
to its log-likelihood, so the best fit at ``K`` does not fall below it.

The search (building the starts, ranking them by their log-likelihood and a
few short EM runs) runs on a fixed subsample of at most ``SEARCH_ROWS`` rows;
only the most promising start is continued to convergence on all the rows.
Every function here works chunk by chunk on the estimator's backend; the
largest array is the ``(n_search_rows, n_components)`` responsibility matrix.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import numpy as np

from ._neighbour_moves import merge_starts, split_starts
from ._validation import check_sample_weight
from .backends.dask_backend import is_dask_array
from .backends.numpy_backend import Data, NumpyBackend
from .engine.em import expectation, normalize_log
from .mixture._base import _better
from .mixture._together import fit_together

#: rows the neighbour search looks at (a fixed subsample when there are more)
SEARCH_ROWS = 10_000
#: how many starts (best first by their own log-likelihood) get a short EM
#: run, how long that run is, and how many of the most overlapping pairs are
#: tried as merges
SHORT_RUNS = 2
SHORT_ITER = 5
MERGE_PAIRS = 3

#: failures that end one candidate's fit (it is listed with the error)
_FIT_ERRORS = (ValueError, np.linalg.LinAlgError, FloatingPointError)


def _message(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --------------------------------------------------------------- the search
class Cell:
    """The kept fit of one (covariance type, K) cell of a model-selection table."""

    __slots__ = ("model", "error", "warnings", "start")

    def __init__(self, model=None, error=None, recorded=(), start="default"):
        self.model = model
        self.error = error
        self.warnings = list(recorded)
        self.start = start

    def key(self, problem) -> tuple:
        """Sort key: non-degenerate first, then the higher log-likelihood on ``problem``."""
        if self.model is None:
            return (False, -math.inf)
        return (not self.model.degenerate_components_, problem.loglik(self.model))


class Problem:
    """Validated data and the estimator settings shared by every candidate.

    Parameters
    ----------
    cls : type
        Estimator class.
    variant_param : str or None
        Name of the constructor parameter that varies besides K (the
        Gaussian ``covariance_type``), if any.
    base : dict
        Constructor parameters of every candidate (the variant aside).
    X : array-like
        The data as the user passed it (kept for feature names).
    Xv : ndarray or dask array of shape (n_samples, n_features)
        The validated data.
    w : ndarray of shape (n_samples,)
    weighted : bool
        Whether the user gave sample weights.
    fit_params : dict
    backend : NumpyBackend or DaskBackend
    expected : tuple of Warning classes
        Warnings recorded in the table instead of being emitted.
    """

    def __init__(self, cls, variant_param, base, X, Xv, w, weighted, fit_params, backend, expected):
        self.cls, self.variant_param, self.base, self.X, self.Xv = cls, variant_param, base, X, Xv
        self.w, self.weighted, self.fit_params, self.backend = w, weighted, fit_params, backend
        self.expected = expected
        self.wsum = float(w.sum())
        self.has_fixed = bool(base.get("fixed"))
        self._search = None

    @classmethod
    def validate(cls_, cls, variant_param, k, base, ct, X, sample_weight, fit_params,
                 expected) -> Problem:
        """Check the estimator settings and the data once (raises ValueError)."""
        probe = cls(k, **base, **({} if ct is None else {variant_param: ct}))
        probe._check_parameters()
        Xv = probe._validate_X(X, reset=True)
        w = check_sample_weight(sample_weight, Xv.shape[0])
        aux = probe._aux(Xv, dict(fit_params), fitting=True)
        # values (finite, in the support) checked once, chunk by chunk
        probe._configured_family().check_data(Data(Xv, w, aux), probe._backend_for(Xv))
        return cls_(cls, variant_param, base, X, Xv, w, sample_weight is not None, fit_params,
                    probe._backend_for(Xv), expected)

    @property
    def search(self) -> Problem:
        """The problem on a fixed subsample of at most ``SEARCH_ROWS`` rows (or self)."""
        if self._search is None:
            n = self.Xv.shape[0]
            if n <= SEARCH_ROWS and not is_dask_array(self.Xv):
                self._search = self
            else:  # in memory: at most SEARCH_ROWS rows (all of them for small dask data)
                idx = np.sort(np.random.default_rng(0).choice(n, min(n, SEARCH_ROWS), replace=False))
                Xs = np.asarray(self.Xv[idx])
                fp = {k: (v[idx] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n else v)
                      for k, v in self.fit_params.items()}
                self._search = Problem(self.cls, self.variant_param, self.base, Xs, Xs,
                                       self.w[idx], True, fp,
                                       NumpyBackend(), self.expected)
                self._search._search = self._search
        return self._search

    def make(self, k, ct, **extra):
        variant = {} if ct is None else {self.variant_param: ct}
        return self.cls(k, **{**self.base, **variant, **extra})

    def loglik(self, model) -> float:
        """Total (weighted) log-likelihood of a model fitted on this problem's rows."""
        return float(model.lower_bound_) * self.wsum

    def score_total(self, model) -> float:
        """Total (weighted) log-likelihood of any fitted model on this problem's rows."""
        return float(model.score(self.Xv, sample_weight=self.w, **self.fit_params)) * self.wsum

    def start_total(self, model) -> float:
        """Total (weighted) log-likelihood of a model's parameters on this problem's rows.

        The value :meth:`score_total` gives (to rounding), from one E-step of
        the model's family (:func:`emkit.engine.em.expectation`) on the rows
        validated once by :meth:`validate`: no input validation or scoring
        set-up per call, which on a few hundred rows cost more than the pass.
        Raises what the E-step raises for parameters it cannot evaluate.
        """
        _, mean = expectation(model._fitted_family(), model._fitted_params(), self.data_of(model),
                              self.backend)
        return float(mean) * self.wsum

    def responsibilities(self, model) -> np.ndarray:
        """``model.predict_proba(self.Xv, **self.fit_params)``, the same chunks and
        arithmetic, without validating the rows again (:meth:`validate` did).

        Returns
        -------
        resp : ndarray of shape (n_rows, n_components)
        """
        n, d = self.Xv.shape
        family = model._fitted_family()
        params = model._fitted_params()
        data = Data(self.Xv, np.ones(n), family.side_aux(n, d, dict(self.fit_params),
                                                        "predict/score"))
        with np.errstate(divide="ignore"):
            log_w = np.log(model.weights_)

        def run(ch):
            lp = np.asarray(family.log_prob(ch.X, params, ch.aux), dtype=np.float64) + log_w
            with np.errstate(invalid="ignore", divide="ignore"):
                return normalize_log(lp, log_w)[1]

        return model._backend_for(self.Xv).map_concat(run, data, model.n_components)

    def start_scorer(self, k, ct):
        """``params -> start_total(self.warm(params, k, ct))`` without building the estimator.

        The split / merge starts of one search are many and only the best
        few are run; warming an estimator for each (its derived attributes,
        such as mclust's volume, shape and orientation) cost more than
        scoring it.  One estimator of ``k`` components of type ``ct`` gives
        the family and the rows once; each start is then one E-step.
        """
        model = self.make(k, ct)
        model.n_features_in_ = self.Xv.shape[1]
        base = model._configured_family()
        data = self.data_of(model)
        keys = tuple(model._param_attrs)

        def total(params) -> float:
            # what warm() stores and _fitted_params() gives back
            p = {"weights": np.asarray(params["weights"], dtype=np.float64),
                 **{key: np.asarray(params[key]) for key in keys}}
            _, mean = expectation(base.for_params(p), p, data, self.backend)
            return float(mean) * self.wsum

        return total

    def fit(self, model) -> tuple[object | None, str | None, list[str]]:
        """Fit ``model`` on all rows; expected warnings are recorded, failures returned."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model.fit(self.X, sample_weight=self.w if self.weighted else None, **self.fit_params)
                error = None
            except _FIT_ERRORS as exc:
                error = _message(exc)
                model = None
        return model, error, self._pass_on(caught)

    def fit_default(self, k, ct) -> Cell:
        model, error, recorded = self.fit(self.make(k, ct))
        return Cell(model, error, recorded)

    def fit_defaults(self, ks, ct) -> dict:
        """``{k: fit_default(k, ct)}``, the fits advancing together (:meth:`fit_many`)."""
        if self.Xv.shape[0] > SEARCH_ROWS:  # large data: as before, one fit after another
            return {k: self.fit_default(k, ct) for k in ks}
        return dict(zip(ks, self.fit_many([self.make(k, ct) for k in ks])))

    def fit_many(self, models) -> list[Cell]:
        """``[Cell(*self.fit(m)) for m in models]``, the fits' runs advancing together
        (:func:`emkit.mixture._together.fit_together`): each fit gets what it gets
        alone, up to the rounding of the batched steps; warnings as in :meth:`fit`."""
        if is_dask_array(self.Xv):
            return [Cell(*self.fit(m)) for m in models]
        caught = {i: [] for i in [*range(len(models)), None]}

        @contextmanager
        def context(i):
            with warnings.catch_warnings(record=True) as got:
                warnings.simplefilter("always")
                yield
            caught[i].extend(got)

        sample_weight = self.w if self.weighted else None
        fits = [m._fit_steps(self.X, sample_weight, dict(self.fit_params)) for m in models]
        done = fit_together(fits, _better, _FIT_ERRORS, context)
        self._pass_on(caught[None])  # nothing expected is emitted while the runs advance
        return [Cell(None, _message(out), self._pass_on(caught[i])) if isinstance(out, Exception)
                else Cell(model, None, self._pass_on(caught[i]))
                for i, (model, out) in enumerate(zip(models, done))]

    def _pass_on(self, caught) -> list[str]:
        """Messages of the expected warnings in ``caught``; the others are emitted."""
        recorded = []
        for wm in caught:
            if issubclass(wm.category, self.expected):
                recorded.append(str(wm.message))
            else:
                warnings.warn_explicit(wm.message, wm.category, wm.filename, wm.lineno)
        return recorded

    def warm(self, params, k, ct):
        """An estimator that will start its next ``fit`` from ``params``."""
        model = self.make(k, ct, warm_start=True)
        model._store_params(params)
        model.n_features_in_ = self.Xv.shape[1]
        model.converged_ = False
        return model

    def data_of(self, model) -> Data:
        return Data(self.Xv, self.w, model._aux(self.Xv, dict(self.fit_params), fitting=True))


def _search_and_fit(problem: Problem, source, k, ct, how, current, must: bool) -> Cell | None:
    """Starts from ``source`` (the neighbour), searched on the subsample, the best continued.

    Returns the continued fit, or None when no start looked better than
    ``current`` on the subsample (unless ``must``) or every start failed.
    """
    S = problem.search
    resp = S.responsibilities(source)
    data = S.data_of(source)
    if how == "split":
        starts = split_starts(source._fitted_family(), data, S.backend, resp)
    else:
        starts = merge_starts(source._fitted_family(), data, S.backend, resp, MERGE_PAIRS)
    kept = _run_starts(problem, starts, k, ct, how, current, must)
    if how == "split" and must and (kept is None or kept.model.degenerate_components_):
        # every hard split collapsed (or failed) where the cell is below its K - 1
        # neighbour: soft splits, whose halves start with the component's whole spread
        soft = split_starts(source._fitted_family(), data, S.backend, resp, soft=True)
        cand = _run_starts(problem, soft, k, ct, how, current, must)
        if cand is not None and (kept is None or cand.key(problem) > kept.key(problem)):
            kept = cand
    return kept


def scored_starts(S, starts, k, ct) -> list:
    """The ``starts`` (parameter dicts) scored on the problem ``S`` as starts of ``k``
    components of type ``ct``, best first: a list of ``(log-likelihood, order, params)``;
    a start that does not score finitely is left out."""
    scored = []
    total = S.start_scorer(k, ct) if starts else None
    for params in starts:
        try:
            ll0 = total(params)
        except (ValueError, ArithmeticError):  # LinAlgError is a ValueError
            continue
        if math.isfinite(ll0):
            scored.append((ll0, len(scored), params))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return scored


def short_batch(S, scored, first: int, k, ct) -> list:
    """The starts ``scored[first:first + SHORT_RUNS]`` run for ``SHORT_ITER`` passes on
    ``S`` with ``k`` components of type ``ct``: the Cells of those that fitted."""
    models = []
    for _, _, params in scored[first:first + SHORT_RUNS]:
        model = S.warm(params, k, ct)
        model.max_iter = SHORT_ITER
        models.append(model)
    return [Cell(cell.model) for cell in S.fit_many(models) if cell.model is not None]


def _run_starts(problem: Problem, starts, k, ct, how, current, must: bool) -> Cell | None:
    """Score ``starts`` on the subsample, run the best briefly, continue them on all rows."""
    S = problem.search
    scored = scored_starts(S, starts, k, ct)
    kept = None
    # batches of SHORT_RUNS starts, best first; the next batch only while every
    # continued fit so far ended degenerate
    for first in range(0, len(scored), SHORT_RUNS):
        runs = short_batch(S, scored, first, k, ct)
        runs.sort(key=lambda c: c.key(S), reverse=True)
        if not runs:
            continue
        if first == 0 and not must and current.model is not None and (
            runs[0].key(S) <= (not current.model.degenerate_components_, S.start_total(current.model))
        ):
            return None
        for run in runs:
            model, _, recorded = problem.fit(problem.warm(run.model._fitted_params(), k, ct))
            if model is None:
                continue
            model.warm_start = False
            cell = Cell(model, None, recorded, how)
            if kept is None or cell.key(problem) > kept.key(problem):
                kept = cell
            if not model.degenerate_components_:
                return kept
    return kept


def refine(problem: Problem, cells: dict, ct) -> None:
    """Improve a covariance type's cells from their neighbours along K, in place.

    Split upwards (K from K - 1), merge downwards (K from K + 1), then split
    again above every cell the merges changed.  A cell keeps the new fit
    when it is better: non-degenerate before degenerate, then the higher
    log-likelihood.  A cell whose log-likelihood is below its K - 1
    neighbour's always takes the continued split start, if that is better.
    Above ``SEARCH_ROWS`` rows the comparisons are made on the subsample
    (:func:`emkit._neighbours_large.refine_large`).
    """
    if problem.Xv.shape[0] > SEARCH_ROWS:  # large data: decided on the subsample
        from ._neighbours_large import refine_large

        return refine_large(problem, cells, ct)
    ks = sorted(cells)

    def improve(k, how):
        source = cells.get(k - 1 if how == "split" else k + 1)
        if source is None or source.model is None:
            return False
        current = cells[k]
        must = how == "split" and not source.model.degenerate_components_ and (
            current.model is None or bool(current.model.degenerate_components_)
            or problem.loglik(current.model) < problem.loglik(source.model)
        )
        cand = _search_and_fit(problem, source.model, k, ct, how, current, must)
        if cand is not None and cand.key(problem) > current.key(problem):
            cells[k] = cand
            return True
        return False

    changed = set()
    for k in ks:
        improve(k, "split")
    for k in reversed(ks):
        if improve(k, "merge"):
            changed.add(k)
    for k in ks:
        if k - 1 in changed and improve(k, "split"):
            changed.add(k)
