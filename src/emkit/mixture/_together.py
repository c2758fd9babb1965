"""The continued runs of one initialisation, advanced together on small data.

The default start hands on its best two short runs (or more with the
scikit-learn ``n_init``-style starts of several kinds), each then continued
to convergence by SQUAREM.  On a few hundred rows each pass costs the fixed
price of a few dozen NumPy calls, so these runs go through
:func:`emkit.engine.batch.run_squarem_batch`: every run takes exactly the
steps it takes alone, and the steps of all runs are answered together.
What follows a run (plain EM from the same start when SQUAREM ended with a
collapsed component, and the failures list) is that of
:meth:`~emkit.mixture._base.BaseMixture._run_start`, run by run.
"""

from __future__ import annotations

from ..backends.numpy_backend import Data, NumpyBackend
from ..engine.batch import batchable, run_squarem_batch
from ..engine.em import run_em
from ..engine.starts import START_ERRORS
from ..families._base import Family


def together(est, starts: list, family: Family, data: Data, backend: NumpyBackend,
             fixed: frozenset, callback, catch_interrupt: bool, keeper) -> bool:
    """Whether the runs from ``starts`` (``(name, params or exception)``) go together:
    SQUAREM, nothing that watches a run (callback, interrupt, labels, logging),
    at least two starts, and data the family's batched steps can take."""
    good = [p for _, p in starts if not isinstance(p, Exception)]
    return (est.acceleration == "squarem" and callback is None and not catch_interrupt
            and keeper is None and not est.verbose and len(good) >= 2
            and batchable(family, good, data, backend, fixed))


def run_together(est, family: Family, starts: list, data: Data, backend: NumpyBackend,
                 fixed: frozenset, failures: list, better) -> list:
    """The runs from ``starts`` advanced together; per start what ``_run_start`` returns.

    Parameters
    ----------
    est : BaseMixture
        Supplies ``tol``, ``max_iter`` and the run labels.
    starts : list of (str, dict or Exception)
    failures : list
        ``(name, exception)`` of every failed start is appended, in order.
    better : callable
        ``better(a, b)``: run ``a`` beats run ``b`` (the estimator's rule).

    Returns
    -------
    list of EMResult or None
        One per start, in order; None for a failed one.
    """
    owner = type(est).__name__
    todo = [(name, p) for name, p in starts if not isinstance(p, Exception)]
    runs = iter(run_squarem_batch(family, [p for _, p in todo], data, backend, tol=est.tol,
                                  max_iter=est.max_iter, fixed=fixed,
                                  labels=[f"{owner} {name}" for name, _ in todo],
                                  warn_decrease=False, errors=START_ERRORS))
    out = []
    for name, params0 in starts:
        result = params0 if isinstance(params0, Exception) else next(runs)
        if not isinstance(result, Exception) and family.degenerate_components(result.params):
            try:  # as _run_start
                result = plain_decides(est, family, name, params0, result, data, backend, fixed,
                                       better)
            except START_ERRORS as exc:
                result = exc
        if isinstance(result, Exception):
            failures.append((name, result))
            result = None
        out.append(result)
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
