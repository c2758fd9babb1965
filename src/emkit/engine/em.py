"""The EM loop: family-agnostic, one pass over the data per iteration.

Each iteration maps the fused E-step (log densities, responsibilities,
sufficient statistics) over row chunks, reduces the statistics by summation
and calls the family's M-step (Dempster, Laird & Rubin, JRSS-B 39:1-38, 1977).
The pass that computes the statistics for the next M-step also yields the
log-likelihood of the current parameters, so the log-likelihood trace costs
nothing extra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..backends.dask_backend import total_weight
from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from .monitor import DEFAULT_MAX_ITER, DEFAULT_TOL, ConvergenceMonitor

logger = logging.getLogger("emkit")

_EPS10 = 10 * np.finfo(np.float64).eps
_RESP_KEY = "_initial_resp"


@dataclass
class EMResult:
    """Outcome of one EM run.

    Attributes
    ----------
    params : dict
        Final parameters, ``"weights"`` included.
    lower_bound : float
        Mean per-sample (weighted) log-likelihood of ``params``.
    history : ndarray of shape (n_history,)
        Mean per-sample log-likelihood after every iteration: one per EM
        step (``n_history == n_iter``), or with SQUAREM one per accepted
        iterate (see :func:`~emkit.engine.squarem.run_squarem`).
    initial_log_likelihood : float
        Mean per-sample log-likelihood of the initial parameters.
    n_iter : int
        Data passes after the one that evaluated the start (M-steps for
        plain EM).
    converged : bool
    plateau : bool
        Stopped unconverged on a slow plateau (see
        :class:`~emkit.engine.monitor.ConvergenceMonitor`).
    interrupted : bool
        True when a ``KeyboardInterrupt`` stopped the run (only caught when
        ``catch_interrupt`` is set); ``params`` are then the last complete
        iterate.
    """

    params: dict
    lower_bound: float
    history: np.ndarray
    initial_log_likelihood: float
    n_iter: int
    converged: bool
    interrupted: bool = False
    plateau: bool = False
    degenerate: bool = False
    extra: dict = field(default_factory=dict)


def normalize_log(lp: np.ndarray, log_weights: np.ndarray | None = None):
    """Row-wise log-sum-exp and responsibilities with a single ``exp``.

    Parameters
    ----------
    lp : ndarray of shape (n_samples, n_components)
        Weighted log densities (overwritten).
    log_weights : ndarray of shape (n_components,) or None
        Log mixing weights.  A row impossible under every component (all of
        its ``lp`` are ``-inf``) has no posterior; it gets the mixing weights
        (uniform when ``None``) as responsibilities, never NaN, and a
        ``log_norm`` of ``-inf``.

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
    resp : ndarray of shape (n_samples, n_components)
        Finite, non-negative, rows summing to 1.
    """
    m = lp.max(axis=1)
    # one sum for the common all-finite case (a NaN or an infinity makes it
    # non-finite; a finite sum that overflows only costs the exact check)
    with np.errstate(over="ignore", invalid="ignore"):
        all_finite = bool(np.isfinite(m.sum())) or bool(np.isfinite(m).all())
    if not all_finite:  # rows impossible under every component (or NaN rows)
        m = np.where(np.isfinite(m), m, 0.0)
    lp -= m[:, None]
    np.exp(lp, out=lp)
    s = lp.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp *= (1.0 / s)[:, None]
        log_norm = np.log(s)
    log_norm += m
    with np.errstate(over="ignore", invalid="ignore"):
        finite_norm = all_finite and bool(np.isfinite(log_norm.sum()))
    if not finite_norm:
        _fill_impossible(log_norm, lp, log_weights)
    return log_norm, lp


def _fill_impossible(log_norm: np.ndarray, resp: np.ndarray, log_weights) -> None:
    """Rows of ``resp`` that are not finite get the (normalised) mixing weights."""
    bad = ~np.isfinite(resp).all(axis=1) | (resp.sum(axis=1) == 0.0)
    if not bad.any():
        return
    K = resp.shape[1]
    if log_weights is None:
        fill = np.full(K, 1.0 / K)
    else:
        lw = np.asarray(log_weights, dtype=np.float64)
        fill = np.exp(lw - lw.max())
        fill /= fill.sum()
    resp[bad] = fill  # log_norm of such a row is already log(0) = -inf


class LabelKeeper:
    """Most likely component of every row, from the last E-steps of EM runs.

    :meth:`~emkit.mixture._base.BaseMixture.fit_predict` gives one to the
    runs, so the labels of the fitted parameters come from the run's own
    final E-step instead of one more pass over the data.  Only in-memory
    data (:class:`NumpyBackend`) fills it; with another backend the chunks
    run elsewhere and the caller predicts as usual.

    Parameters
    ----------
    keep : int
        E-steps of a run whose labels are kept (SQUAREM may accept an
        iterate evaluated a few E-steps before its last one).
    """

    def __init__(self, keep: int = 4):
        self.keep = keep
        self._recent: list = []
        #: labels of the chosen run's final parameters, shape (n_samples,), or None
        self.chosen: np.ndarray | None = None

    def store(self, params: Mapping, labels: np.ndarray) -> None:
        self._recent = [*self._recent[1 - self.keep:], (params, labels)]

    def run_done(self, params: Mapping, chosen: bool) -> None:
        """End of a run whose result is ``params``; ``chosen``: it is the best so far."""
        if chosen:
            self.chosen = next((lab for p, lab in reversed(self._recent) if p is params), None)
        self._recent = []


def e_step_chunk(family: Family, params: Mapping, chunk: Data, labels: np.ndarray | None = None):
    """Fused E-step of one chunk: statistics and weighted log-likelihood sum.

    Parameters
    ----------
    labels : ndarray of shape (n_chunk,) or None
        Filled with the most likely component of every row (as ``predict``).

    Returns
    -------
    stats : Stats
    loglik : float
        ``sum_i w_i log p(x_i)`` over the chunk.
    """
    with np.errstate(divide="ignore"):
        log_w = np.log(params["weights"])
    lp, cache = family.weighted_log_prob_cached(chunk.X, params, chunk.aux, log_w)
    log_norm, resp = normalize_log(lp, log_w)
    if labels is not None:
        labels[:] = resp.argmax(axis=1)
    w = chunk.sample_weight
    if w.min() == 1.0 and w.max() == 1.0:  # unweighted rows: skip two n x K passes
        loglik = float(log_norm.sum())
    else:
        resp *= w[:, None]
        positive = w > 0  # weight 0 times an impossible row counts as nothing
        loglik = float(np.dot(w[positive], log_norm[positive]))
    stats = family.suff_stats(chunk.X, resp, chunk.aux, cache)
    if "nk" not in stats:  # a family may have it from its own product
        stats["nk"] = resp.sum(axis=0)
    return Stats(**stats), loglik


def expectation(family: Family, params: Mapping, data: Data, backend: NumpyBackend,
                keeper: LabelKeeper | None = None):
    """Summed statistics and mean per-sample log-likelihood over all chunks.

    With a ``keeper`` and in-memory data, the same pass also stores every
    row's most likely component in it.
    """
    K = params["weights"].shape[0]
    if type(backend) is NumpyBackend:
        # in memory: the family's fused E-step where it has one, chunk by chunk (it may
        # keep per-data work, such as feature rows, between passes)
        labels = None if keeper is None else np.empty(data.n_samples, dtype=np.intp)
        if data.n_samples <= backend.resolve_chunk_size(data, K):
            fused = family.fused_e_step(data, params, labels)
            stats, loglik = (e_step_chunk(family, params, data, labels) if fused is None
                             else (Stats(**fused[0]), fused[1]))
        else:
            def fused_chunk(chunk):
                at = chunk.start - data.start
                part = None if labels is None else labels[at:at + chunk.n_samples]
                fused = family.fused_e_step(data, params, part, (at, at + chunk.n_samples))
                if fused is None:
                    return e_step_chunk(family, params, chunk, part)
                return Stats(**fused[0]), fused[1]

            stats, loglik = backend.map_reduce(fused_chunk, data, K)
        if keeper is not None:
            keeper.store(params, labels)
        return stats, loglik / total_weight(data)
    if keeper is None or not isinstance(backend, NumpyBackend):
        stats, loglik = backend.map_reduce(
            lambda chunk: e_step_chunk(family, params, chunk), data, K
        )
    else:
        labels = np.empty(data.n_samples, dtype=np.intp)

        def fn(chunk):
            at = chunk.start - data.start
            return e_step_chunk(family, params, chunk, labels[at:at + chunk.n_samples])

        stats, loglik = backend.map_reduce(fn, data, K)
        keeper.store(params, labels)
    return stats, loglik / total_weight(data)


def hold_fixed(family: Family, new: dict, params: Mapping, fixed: frozenset) -> dict:
    """Put the held parameters (``fixed``, and what moves with them) back to their values."""
    for key in family.held_keys(fixed):
        new[key] = np.array(params[key], dtype=np.float64)
    return new


def maximization(family: Family, stats: Stats, params: Mapping, fixed: frozenset) -> dict:
    """Family M-step plus the mixing weights; held parameters keep their values."""
    new = hold_fixed(family, dict(family.m_step(stats, params, fixed)), params, fixed)
    if "weights" in fixed:
        new["weights"] = np.array(params["weights"], dtype=np.float64)
    else:
        nk = stats["nk"] + _EPS10
        new["weights"] = nk / nk.sum()
    return new


def params_from_resp(
    family: Family, data: Data, resp: np.ndarray, backend: NumpyBackend, params: Mapping | None = None,
    fixed: frozenset = frozenset(),
) -> dict:
    """Parameters from given responsibilities (one M-step), used to initialise.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Unweighted responsibilities; rows sum to 1.
    """
    K = resp.shape[1]
    # the responsibilities travel as per-row side data, sliced with X by any backend
    with_resp = Data(data.X, data.sample_weight, {**data.aux, _RESP_KEY: resp})

    def fn(chunk: Data):
        aux = dict(chunk.aux)
        r = aux.pop(_RESP_KEY) * chunk.sample_weight[:, None]
        st = family.suff_stats(chunk.X, r, aux, None)
        st["nk"] = r.sum(axis=0)
        return (Stats(**st),)

    (stats,) = backend.map_reduce(fn, with_resp, K)
    return maximization(family, stats, params or {}, fixed)


def data_eps(data: Data) -> float:
    """Machine epsilon of the data's dtype (float64 for anything not floating)."""
    dtype = getattr(data.X, "dtype", np.dtype(np.float64))
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)


def run_em(
    family: Family,
    params: Mapping,
    data: Data,
    backend: NumpyBackend,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    fixed: frozenset = frozenset(),
    acceleration: str | None = None,
    callback: Callable[[dict], None] | None = None,
    catch_interrupt: bool = False,
    verbose: int = 0,
    verbose_interval: int = 10,
    label: str = "EM",
    rule: str = "aitken",
    warn_decrease: bool = True,
    keeper: LabelKeeper | None = None,
) -> EMResult:
    """Run EM from ``params`` until Aitken's estimate of the remaining gain is below ``tol``.

    Parameters
    ----------
    family : Family
    params : dict
        Initial parameters, ``"weights"`` included.
    data : Data
    backend : NumpyBackend
    tol : float
        Convergence threshold on Aitken's estimate of how much the mean
        per-sample log-likelihood can still gain (see
        :mod:`emkit.engine.monitor`).
    max_iter : int
        Maximum number of data passes after the one that evaluates
        ``params`` (one per M-step for plain EM); 0 evaluates ``params`` only.
    fixed : frozenset of str
        Parameter names held at their initial values.
    acceleration : {None, "squarem"}
        ``None`` runs plain EM; ``"squarem"`` runs
        :func:`emkit.engine.squarem.run_squarem` under the same stopping rule
        and pass budget.
    callback : callable or None
        Called after every iteration with a dict holding ``iteration``,
        ``log_likelihood`` (mean per sample), ``change`` and ``params``.
    catch_interrupt : bool
        Turn a ``KeyboardInterrupt`` into a stopped, unconverged result with
        the last complete parameters instead of propagating it.
    label : str
        Name of the run in warnings and log messages.
    rule : {"aitken", "change"}
        Stopping rule (see :class:`~emkit.engine.monitor.ConvergenceMonitor`).
    warn_decrease : bool
        Warn at once when the log-likelihood falls by more than rounding;
        with False the result's ``extra`` keeps the count and first message.
    keeper : LabelKeeper or None
        Given to every E-step (labels of the last few iterates).

    Returns
    -------
    EMResult
    """
    monitor = ConvergenceMonitor(tol, max_iter, callback=callback, verbose=verbose,
                                 verbose_interval=verbose_interval, label=label, rule=rule,
                                 eps=data_eps(data), slack=family.likelihood_slack(),
                                 warn_decrease=warn_decrease)
    params = dict(params)
    stats, ll = expectation(family, params, data, backend, keeper)
    monitor.start(ll)
    if acceleration is not None:
        from .squarem import run_squarem

        return run_squarem(family, params, stats, ll, data, backend, monitor, fixed=fixed,
                           catch_interrupt=catch_interrupt, keeper=keeper)
    interrupted = False
    try:
        while monitor.passes_left > 0:
            new_params = maximization(family, stats, params, fixed)
            new_stats, new_ll = expectation(family, new_params, data, backend, keeper)
            monitor.count_pass()
            params, stats = new_params, new_stats
            monitor.record(new_ll, params)
            if plain_step_converged(monitor):
                break
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        interrupted = True
    return monitor_result(monitor, params, interrupted)


def plain_step_converged(monitor: ConvergenceMonitor) -> bool:
    """The stopping decision after a plain EM step was recorded in ``monitor``.

    After the first step: converged when it changed nothing measurable;
    later: Aitken's rule on the last three iterates (the start counts as the
    first of them after the second step).
    """
    seq = monitor.history
    if len(seq) == 1:
        return monitor.check_step(monitor.initial, seq[0])
    l0 = seq[-3] if len(seq) >= 3 else monitor.initial
    return monitor.check(l0, seq[-2], seq[-1])


def monitor_result(monitor: ConvergenceMonitor, params: dict, interrupted: bool, **extra) -> EMResult:
    """The :class:`EMResult` of a finished run."""
    monitor.finish()
    return EMResult(
        params=params,
        lower_bound=monitor.current,
        history=np.asarray(monitor.history, dtype=np.float64),
        initial_log_likelihood=monitor.initial,
        n_iter=monitor.n_iter,
        converged=monitor.converged and not interrupted,
        interrupted=interrupted,
        plateau=monitor.plateau,
        extra={**monitor.summary(), **extra},
    )
