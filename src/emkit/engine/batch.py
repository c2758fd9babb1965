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
from ._steps import Step, take_step
from .squarem import squarem_steps


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
    alone.  The steps of all runs are answered together
    (:func:`advance_together`).  Each result equals that of
    ``run_em(..., acceleration="squarem")`` from the same start up to the
    rounding of the batched steps (about 1e-15 relative per pass), which
    long extrapolations can amplify enough to tip a step-length or stopping
    decision in rare cases.

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
    labels = list(labels) if labels is not None else [f"EM {r + 1}" for r in range(len(starts))]
    return advance_together([SquaremRun(family, p, data, backend, fixed, tol, max_iter, label,
                                        warn_decrease) for p, label in zip(starts, labels)],
                            errors)


class SquaremRun:
    """One SQUAREM run of :func:`advance_together`: where it runs and how.

    Parameters
    ----------
    family : Family
    start : dict
        Initial parameters, ``"weights"`` included.
    data : Data
    backend : NumpyBackend
    fixed : frozenset of str
    tol, max_iter, label, warn_decrease
        As for :func:`~emkit.engine.em.run_em`.
    """

    def __init__(self, family, start, data, backend, fixed, tol, max_iter, label, warn_decrease):
        self.family, self.start, self.data, self.backend = family, dict(start), data, backend
        self.fixed, self.steps = fixed, None
        self.monitor = ConvergenceMonitor(tol, max_iter, label=label, eps=data_eps(data),
                                          slack=family.likelihood_slack(),
                                          warn_decrease=warn_decrease)
        self.key = None  # runs with equal keys share batched steps
        if batchable(family, [start, start], data, backend, fixed) and not data.aux:
            fam_key = family.batch_key()
            X = data.X
            self.key = (id(family) if fam_key is None else fam_key, X.shape, X.dtype.str,
                        X.tobytes(), data.sample_weight.tobytes())


def advance_together(runs: list[SquaremRun], errors: tuple = ()) -> list[EMResult | Exception]:
    """Several SQUAREM runs, possibly of different fits, advanced together.

    Each round collects the step every unfinished run asks for and answers
    those of one kind (E or M) and warning setting together, through the
    family's batched steps (:class:`~emkit.families._batch.BatchHooks`),
    for the runs whose families and data batch together (equal
    :attr:`SquaremRun.key`: the same family settings, equal rows and
    weights, whatever their numbers of components); a step that is not
    batched or raises is taken run by run, and its exception goes back into
    its run, which handles it as when it runs alone.

    Returns
    -------
    list of EMResult or Exception
        Per run, in order: its result, or the exception (one of ``errors``)
        that ended it.  Other exceptions propagate.
    """
    results: list = [None] * len(runs)
    pending: dict[int, Step] = {}

    def advance(r, reply, failure):
        try:
            step = runs[r].steps.send(reply) if failure is None else runs[r].steps.throw(failure)
        except StopIteration as done:
            results[r] = done.value
        except errors as exc:
            results[r] = exc
        else:
            pending[r] = step

    for shared, _, members in _groups(runs, range(len(runs)), lambda r: ()):
        lead = runs[members[0]]
        out = None
        if shared:
            out = lead.family.batch_e_step(lead.data, [runs[r].start for r in members])
        for i, r in enumerate(members):
            run = runs[r]
            if out is not None:
                stats, ll = out[i][0], out[i][1] / total_weight(run.data)
            else:
                try:
                    stats, ll = expectation(run.family, run.start, run.data, run.backend)
                except errors as exc:
                    results[r] = exc
                    continue
            run.monitor.start(ll)
            run.steps = squarem_steps(run.family, run.start, stats, ll, run.monitor,
                                      fixed=run.fixed)
            advance(r, None, None)
    while pending:
        asked = dict(pending)
        pending.clear()
        answers = {}
        for shared, (kind, quiet), members in _groups(runs, asked, lambda r: (asked[r].kind,
                                                                             asked[r].quiet)):
            steps = [asked[r] for r in members]
            lead = runs[members[0]]
            out = _batched_answers(lead.family, kind, quiet, steps, lead.data) if shared else None
            for r, step, reply in zip(members, steps, out or [None] * len(members)):
                if out is None:
                    run = runs[r]
                    try:
                        reply = (take_step(run.family, step, run.data, run.backend, run.fixed), None)
                    except Exception as exc:  # noqa: BLE001 - back into the run, as inline
                        reply = (None, exc)
                answers[r] = reply
        for r in sorted(answers):
            advance(r, *answers[r])
    return results


def _groups(runs, which, extra) -> list:
    """``which`` (run indices) grouped by run key and ``extra(r)``, in order of first member.

    Returns
    -------
    list of (shared, extra, members)
        ``shared``: the members may take batched steps (two or more runs
        with the same key); runs without a key are alone.
    """
    groups: dict[tuple, list[int]] = {}
    for r in which:
        key = runs[r].key
        groups.setdefault((("alone", r) if key is None else key, extra(r)), []).append(r)
    return [(len(members) > 1, more, members) for (_, more), members in groups.items()]


def _batched_answers(family, kind, quiet, steps, data) -> list | None:
    """The answers to several runs' steps of one kind in one batched call, or None.

    The family's batched hooks (:class:`~emkit.families._batch.BatchHooks`)
    answer E- and M-steps and SQUAREM's coordinate maps and degeneracy test;
    None (or an exception: some run fails, and run by run tells which) sends
    the steps one by one.
    """
    if len(steps) < 2:
        return None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore") if quiet \
            else nullcontext():
        try:
            if kind == "e":
                out = family.batch_e_step(data, [s.params for s in steps])
                if out is not None:
                    wsum = total_weight(data)
                    out = [(st, ll / wsum) for st, ll in out]
            elif kind == "m":
                out = family.batch_m_step([s.stats for s in steps])
            elif kind == "pack":  # every step asks for the coordinates of a few iterates
                flat = family.batch_to_unconstrained([p for s in steps for p in s.params])
                sizes = np.cumsum([0] + [len(s.params) for s in steps])
                out = None if flat is None else [flat[a:b] for a, b in zip(sizes, sizes[1:])]
            elif kind == "unpack":
                out = family.batch_from_unconstrained([s.stats for s in steps],
                                                      [s.params for s in steps])
            else:
                out = family.batch_degenerate_components([s.params for s in steps])
        except Exception:  # noqa: BLE001 - some run fails: run by run, to know which
            return None
    return None if out is None else [(answer, None) for answer in out]
