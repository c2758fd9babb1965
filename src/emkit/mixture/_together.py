"""The continued runs of a fit, advanced together on small data; several fits at once.

The default start hands on its best two short runs, each then continued to
convergence by SQUAREM; model selection makes such a fit for every number
of components.  On a few hundred rows each pass costs the fixed price of a
few dozen NumPy calls, so these runs go through
:func:`emkit.engine.batch.advance_together`: every run takes exactly the
steps it takes alone, and the steps of all runs (of one fit, or of several
fits of one selection, whatever their numbers of components) are answered
together by the family's batched steps.  What follows a run (plain EM from
the same start when SQUAREM ended with a collapsed component, and the
failures list) is that of :meth:`~emkit.mixture._base.BaseMixture._run_start`,
run by run.

A fit is :meth:`~emkit.mixture._base.BaseMixture._fit_steps`, a generator
that yields the :class:`Runs` of each initialisation and receives their
results: :func:`drive_fit` answers them for one fit, :func:`fit_together`
for several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

from ..backends.numpy_backend import Data, NumpyBackend
from ..engine.batch import SquaremRun, advance_together, batchable
from ..engine.em import run_em
from ..engine._short_runs import ShortRuns, answer_together
from ..engine.starts import START_ERRORS
from ..families._base import Family


class Runs(NamedTuple):
    """The runs one initialisation of a fit asks for (``_run_starts``' arguments)."""

    est: object
    family: Family
    starts: list  # (name, params or the exception that made the start fail)
    data: Data
    backend: NumpyBackend
    fixed: frozenset
    callback: Callable | None
    catch_interrupt: bool
    failures: list
    keeper: object

    def one_by_one(self) -> Iterable:
        """The results, lazily in order (``_run_starts``: together within this fit when it can)."""
        return self.est._run_starts(self.family, self.starts, self.data, self.backend, self.fixed,
                                    self.callback, self.catch_interrupt, self.failures,
                                    self.keeper)

    def together(self) -> bool:
        """Whether these runs may go together: SQUAREM, nothing that watches a run
        (callback, interrupt, labels, logging), data the family's batched steps take."""
        est = self.est
        good = [p for _, p in self.starts if not isinstance(p, Exception)]
        return (est.acceleration == "squarem" and self.callback is None
                and not self.catch_interrupt and self.keeper is None and not est.verbose
                and len(good) >= 1
                and batchable(self.family, good * 2, self.data, self.backend, self.fixed))

    def squarem_runs(self) -> list[SquaremRun]:
        """One :class:`~emkit.engine.batch.SquaremRun` per start that did not fail."""
        est, owner = self.est, type(self.est).__name__
        return [SquaremRun(self.family, p, self.data, self.backend, self.fixed, est.tol,
                           est.max_iter, f"{owner} {name}", False)
                for name, p in self.starts if not isinstance(p, Exception)]

    def finish(self, results: list, better) -> list:
        """Per start, in order: its result (``results``: those of :meth:`squarem_runs`,
        after plain EM decided a collapsed one), or None for a failure (recorded)."""
        runs = iter(results)
        out = []
        for name, params0 in self.starts:
            result = params0 if isinstance(params0, Exception) else next(runs)
            if not isinstance(result, Exception) and self.family.degenerate_components(result.params):
                try:  # as _run_start
                    result = plain_decides(self.est, self.family, name, params0, result, self.data,
                                           self.backend, self.fixed, better)
                except START_ERRORS as exc:
                    result = exc
            if isinstance(result, Exception):
                self.failures.append((name, result))
                result = None
            out.append(result)
        return out


def together(runs: Runs) -> bool:
    """Whether the runs of one fit go together (two or more, see :meth:`Runs.together`)."""
    return sum(not isinstance(p, Exception) for _, p in runs.starts) >= 2 and runs.together()


def run_together(runs: Runs, better) -> list:
    """The runs of one initialisation advanced together; per start what ``_run_start``
    returns (its result, or None with the failure recorded)."""
    return runs.finish(advance_together(runs.squarem_runs(), START_ERRORS), better)


def drive_fit(fit):
    """Run one fit's generator (``_fit_steps``) to its end; returns what it returns."""
    reply = None
    while True:
        try:
            runs = fit.send(reply)
        except StopIteration as done:
            return done.value
        reply = runs.answer() if isinstance(runs, ShortRuns) else runs.one_by_one()


def fit_together(fits: list, better, errors: tuple = (),
                 context: Callable[[int | None], AbstractContextManager] | None = None) -> list:
    """Several fits (``_fit_steps`` generators) driven together.

    Each round, the continued runs of every fit that may take batched steps
    (:meth:`Runs.together`) advance in one
    :func:`~emkit.engine.batch.advance_together`; the others run as alone.
    Each fit gets exactly the results it gets alone (up to the rounding of
    the batched steps).

    Parameters
    ----------
    fits : list of generator
    better : callable
        The estimators' rule ``better(a, b)`` between two runs.
    errors : tuple of exception types
        Failures that end one fit only (its entry is the exception).
    context : callable or None
        ``context(i)`` wraps every step of fit ``i``; ``context(None)`` the
        runs advanced together (for recording warnings).

    Returns
    -------
    list
        Per fit, what its generator returns, or its exception.
    """
    context = context or (lambda i: nullcontext())
    out: list = [None] * len(fits)
    pending: dict[int, Runs] = {}

    def advance(i, reply):
        with context(i):
            try:
                pending[i] = fits[i].send(reply)
            except StopIteration as done:
                out[i] = done.value
            except errors as exc:
                out[i] = exc

    for i in range(len(fits)):
        advance(i, None)
    while pending:
        asked = dict(pending)
        pending.clear()
        short = sorted(i for i, req in asked.items() if isinstance(req, ShortRuns))
        if short:  # the default starts' short runs of all fits that ask for them
            try:
                with context(None):
                    answers = answer_together([asked[i] for i in short])
            except errors:  # answered fit by fit below, to know which fails
                answers = [None] * len(short)
            for i, answer in zip(short, answers):
                req = asked.pop(i)
                if answer is None:
                    try:
                        with context(i):
                            answer = req.answer()
                    except errors as exc:
                        out[i] = exc
                        continue
                advance(i, answer)
        joint = [i for i, runs in asked.items() if runs.together()]
        made = {i: asked[i].squarem_runs() for i in joint}
        with context(None):
            results = iter(advance_together([r for i in joint for r in made[i]], START_ERRORS))
        replies = {i: [next(results) for _ in made[i]] for i in joint}
        for i in sorted(asked):
            if i in replies:
                advance(i, asked[i].finish(replies[i], better))
            else:
                advance(i, asked[i].one_by_one())
    return out


def plain_decides(est, family: Family, name: str, params0: dict, result, data: Data,
                  backend: NumpyBackend, fixed: frozenset, better, catch_interrupt: bool = False,
                  keeper=None):
    """The better of ``result`` (SQUAREM that ended with a collapsed component) and
    plain EM from the same start ``params0``.

    Extrapolation can carry a run onto a spurious spike (a component collapsed
    onto repeated values) that plain EM from the same start does not climb,
    or into another collapsed fixed point below plain EM's (n = 20,000,
    d = 16, K = 16: -24.97691609 against plain EM's -24.97690208, both with
    component 15 collapsed): plain EM decides, non-degenerate first, then the
    higher.  Raises what plain EM raises.
    """
    plain = run_em(family, params0, data, backend, tol=est.tol, max_iter=est.max_iter,
                   fixed=fixed, acceleration=None, catch_interrupt=catch_interrupt,
                   label=f"{type(est).__name__} {name} (plain EM)", warn_decrease=False,
                   keeper=keeper)
    result.degenerate = True
    plain.degenerate = bool(family.degenerate_components(plain.params))
    return plain if plain.interrupted or better(plain, result) else result
