"""Several plain EM runs side by side, one batched pass per iteration on small data.

The default start (:mod:`emkit.engine.starts`) runs a short EM from each of
up to nine starts; on a few hundred rows every pass of every run costs the
fixed price of a few dozen NumPy calls, whatever its arithmetic.  Here the
runs advance together: every iteration makes one M-step and one E-step for
all the runs still going, through the family's optional batched steps
(:class:`~emkit.families._batch.BatchHooks`; the Gaussian family stacks the
runs' components along one axis, :mod:`emkit.families._gaussian_batch`), so
the fixed price is paid once per iteration instead of once per run.

Each run keeps its own :class:`~emkit.engine.monitor.ConvergenceMonitor` and
stops exactly when :func:`~emkit.engine.em.run_em` would stop it (plain EM,
the same stopping rule); a stopped or failed run leaves the batch and the
others go on.  A run's result equals that of ``run_em`` from the same start
up to the order of floating-point additions (about 1e-15 relative per pass).
The batched steps apply to in-memory data held in one chunk, with nothing
held fixed; elsewhere, and whenever a batched step declines (returns None)
or fails for some run, that step is taken run by run with the ordinary
:func:`~emkit.engine.em.expectation` and :func:`~emkit.engine.em.maximization`,
so a run that fails is found and dropped with its own exception, as alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext

import numpy as np

from ..backends.dask_backend import total_weight
from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from .em import EMResult, data_eps, expectation, maximization, monitor_result, plain_step_converged
from .monitor import DEFAULT_MAX_ITER, DEFAULT_TOL, ConvergenceMonitor
from .squarem import Step, squarem_steps, take_step


def batchable(family: Family, starts: list[Mapping], data: Data, backend: NumpyBackend,
              fixed: frozenset) -> bool:
    """Whether the runs may take batched steps: several, in memory, one chunk each, nothing held."""
    if fixed or len(starts) < 2 or type(backend) is not NumpyBackend:
        return False
    n = data.n_samples
    return all(n <= backend.resolve_chunk_size(data, p["weights"].shape[0]) for p in starts)


def _expect(family, params_list, data, backend, batched, errors):
    """Per run: ``(stats, mean log-likelihood)``, or the exception its E-step raised."""
    if batched and len(params_list) > 1:
        out = family.batch_e_step(data, params_list)
        if out is not None:
            wsum = total_weight(data)
            return [(st, ll / wsum) for st, ll in out]
    res = []
    for p in params_list:
        try:
            res.append(expectation(family, p, data, backend))
        except errors as exc:
            res.append(exc)
    return res


def _maximize(family, stats_list, params_list, fixed, batched, errors):
    """Per run: the new parameters, or the exception its M-step raised."""
    if batched and len(stats_list) > 1:
        try:
            out = family.batch_m_step(stats_list)
        except errors:
            out = None  # some run fails: run by run below, to know which
        if out is not None:
            return out
    res = []
    for st, p in zip(stats_list, params_list):
        try:
            res.append(maximization(family, st, p, fixed))
        except errors as exc:
            res.append(exc)
    return res


def run_em_batch(
    family: Family,
    starts: list[Mapping],
    data: Data,
    backend: NumpyBackend,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    fixed: frozenset = frozenset(),
    labels: list[str] | None = None,
    warn_decrease: bool = True,
    errors: tuple = (),
) -> list[EMResult | Exception]:
    """Plain EM from each of ``starts``, the runs advancing together.

    Parameters
    ----------
    family : Family
    starts : list of dict
        Initial parameters of every run, ``"weights"`` included (the runs may
        have different numbers of components).
    data : Data
    backend : NumpyBackend
    tol, max_iter, fixed, warn_decrease
        As for :func:`~emkit.engine.em.run_em` (plain EM, Aitken's rule).
    labels : list of str or None
        Name of every run in warnings and log messages.
    errors : tuple of exception types
        Failures of one run's E- or M-step that end that run only: its
        entry in the result is the exception.  Others propagate.

    Returns
    -------
    list of EMResult or Exception
        One per start, in order: what ``run_em(family, start, data, backend,
        tol=tol, max_iter=max_iter, fixed=fixed)`` returns, or the exception
        (one of ``errors``) it raises.
    """
    R = len(starts)
    labels = list(labels) if labels is not None else [f"EM {r + 1}" for r in range(R)]
    batched = batchable(family, starts, data, backend, fixed)
    eps, slack = data_eps(data), family.likelihood_slack()
    monitors = [ConvergenceMonitor(tol, max_iter, label=labels[r], eps=eps, slack=slack,
                                   warn_decrease=warn_decrease) for r in range(R)]
    results: list = [None] * R
    params = [dict(p) for p in starts]
    stats: list = [None] * R
    running = []
    for r, e in enumerate(_expect(family, params, data, backend, batched, errors)):
        if isinstance(e, Exception):
            results[r] = e
            continue
        stats[r], ll = e
        monitors[r].start(ll)
        if monitors[r].passes_left > 0:
            running.append(r)
        else:
            results[r] = monitor_result(monitors[r], params[r], False)
    while running:
        new = _maximize(family, [stats[r] for r in running], [params[r] for r in running],
                        fixed, batched, errors)
        stepped = []
        for r, p in zip(running, new):
            if isinstance(p, Exception):
                results[r] = p
            else:
                stepped.append((r, p))
        evaluated = _expect(family, [p for _, p in stepped], data, backend, batched, errors)
        running = []
        for (r, p), e in zip(stepped, evaluated):
            if isinstance(e, Exception):
                results[r] = e
                continue
            mon = monitors[r]
            mon.count_pass()
            params[r] = p
            stats[r], ll = e
            mon.record(ll, p)
            if plain_step_converged(mon) or mon.passes_left <= 0:
                results[r] = monitor_result(mon, p, False)
            else:
                running.append(r)
    return results


def run_squarem_batch(
    family: Family,
    starts: list[Mapping],
    data: Data,
    backend: NumpyBackend,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    fixed: frozenset = frozenset(),
    labels: list[str] | None = None,
    warn_decrease: bool = True,
    errors: tuple = (),
) -> list[EMResult | Exception]:
    """SQUAREM from each of ``starts``, the runs advancing together.

    Every run is :func:`~emkit.engine.squarem.squarem_steps` (Varadhan &
    Roland 2008, with the adaptive step bound of Du & Varadhan 2020): the
    run itself decides its step lengths, its fallbacks to the plain EM
    iterate and when it stops, so it takes exactly the steps it takes
    alone.  Here each round collects the step every unfinished run asks
    for and answers those of one kind (E or M), number of components and
    warning setting together, through the family's batched steps, as
    :func:`run_em_batch` does for plain EM; a step that is not batched or
    raises is taken run by run, and its exception goes back into its run.
    Each result equals that of ``run_em(..., acceleration="squarem")``
    from the same start up to the rounding of the batched steps (about
    1e-15 relative per pass), which in rare cases can tip a step-length or
    convergence decision.

    Parameters
    ----------
    family, starts, data, backend, tol, max_iter, fixed, labels, warn_decrease, errors
        As for :func:`run_em_batch`.

    Returns
    -------
    list of EMResult or Exception
        One per start, in order: what ``run_em(family, start, data, backend,
        tol=tol, max_iter=max_iter, fixed=fixed, acceleration="squarem")``
        returns, or the exception (one of ``errors``) it raises.

    References
    ----------
    Varadhan, R. and Roland, C. (2008). Simple and globally convergent
    methods for accelerating the convergence of any EM algorithm.
    Scandinavian Journal of Statistics 35(2):335-353.
    """
    R = len(starts)
    labels = list(labels) if labels is not None else [f"EM {r + 1}" for r in range(R)]
    batched = batchable(family, starts, data, backend, fixed)
    eps, slack = data_eps(data), family.likelihood_slack()
    results: list = [None] * R
    pending: dict[int, Step] = {}
    runs = {}

    def advance(r, reply, failure):
        try:
            step = runs[r].send(reply) if failure is None else runs[r].throw(failure)
        except StopIteration as done:
            results[r] = done.value
        except errors as exc:
            results[r] = exc
        else:
            pending[r] = step

    params = [dict(p) for p in starts]
    for r, e in enumerate(_expect(family, params, data, backend, batched, errors)):
        if isinstance(e, Exception):
            results[r] = e
            continue
        monitor = ConvergenceMonitor(tol, max_iter, label=labels[r], eps=eps, slack=slack,
                                     warn_decrease=warn_decrease)
        monitor.start(e[1])
        runs[r] = squarem_steps(family, params[r], e[0], e[1], monitor, fixed=fixed)
        advance(r, None, None)
    while pending:
        groups: dict[tuple, list[int]] = {}
        for r, step in pending.items():
            groups.setdefault((step.kind, step.quiet, step.params["weights"].shape[0]), []).append(r)
        asked, answers = dict(pending), {}
        pending.clear()
        for (kind, quiet, _), members in groups.items():
            steps = [asked[r] for r in members]
            out = _batched_answers(family, kind, quiet, steps, data) if batched else None
            for r, step, reply in zip(members, steps, out or [None] * len(members)):
                if out is None:
                    try:
                        reply = (take_step(family, step, data, backend, fixed), None)
                    except Exception as exc:  # noqa: BLE001 - back into the run, as inline
                        reply = (None, exc)
                answers[r] = reply
        for r in sorted(answers):
            advance(r, *answers[r])
    return results


def _batched_answers(family, kind, quiet, steps, data) -> list | None:
    """The answers to several runs' steps of one kind in one batched call, or None."""
    if len(steps) < 2:
        return None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore") if quiet \
            else nullcontext():
        try:
            if kind == "e":
                out = family.batch_e_step(data, [s.params for s in steps])
                if out is None:
                    return None
                wsum = total_weight(data)
                return [((st, ll / wsum), None) for st, ll in out]
            out = family.batch_m_step([s.stats for s in steps])
        except Exception:  # noqa: BLE001 - some run fails: run by run, to know which
            return None
    return None if out is None else [(p, None) for p in out]
