"""SQUAREM: squared extrapolation to accelerate EM, for every family.

One SQUAREM cycle starts from an accepted iterate ``theta0`` whose fused
E-step (statistics and log-likelihood) is already known and

1. takes two plain EM steps, ``theta1 = F(theta0)`` and ``theta2 = F(theta1)``;
2. forms ``r = theta1 - theta0`` and ``v = theta2 - 2 theta1 + theta0`` in
   unconstrained coordinates and the step length ``alpha = ||r|| / ||v||``
   (scheme S3 of Varadhan & Roland, 2008), bounded to ``[1, step_max]``;
3. extrapolates ``theta' = theta0 + 2 alpha r + alpha**2 v`` and stabilises
   it with one EM step, ``theta'' = F(theta')``;
4. accepts ``theta''`` if its log-likelihood is finite and not below that of
   ``theta0`` and it has no degenerate component that ``theta0`` did not
   have (a long step must not jump onto a spurious spike of the likelihood
   that plain EM would not climb); otherwise falls back to the plain EM iterate ``theta2`` and
   shrinks the bound.  The bound grows by a factor ``4`` each time the step
   reaches it and shrinks by ``4`` after a rejected step (the adaptive
   maximum step length of Du & Varadhan, 2020).

Unconstrained coordinates come from the family's ``to_unconstrained`` /
``from_unconstrained`` hooks; the mixing weights are handled here through
centred log-weights (the inverse of the softmax), unless they are fixed.  A
family whose ``from_unconstrained`` raises ``ValueError`` (for example a
covariance that is not positive definite) or an extrapolated point whose
log-likelihood is not finite also fall back to ``theta2``.  Because every
extrapolated point is followed by an EM step and the run ends on an EM step,
the returned parameters are always an EM image, so their statistics and
log-likelihood are consistent with plain EM's.

References
----------
Varadhan, R. and Roland, C. (2008). Simple and globally convergent methods
for accelerating the convergence of any EM algorithm. Scandinavian Journal
of Statistics 35(2):335-353.
Du, Y. and Varadhan, R. (2020). SQUAREM: an R package for off-the-shelf
acceleration of EM, MM and other EM-like monotone algorithms. Journal of
Statistical Software 92(7):1-41.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from .em import EMResult, LabelKeeper, expectation, hold_fixed, maximization, monitor_result
from .monitor import ConvergenceMonitor

logger = logging.getLogger("emkit")

#: key of the mixing weights' coordinates in the packed vector
_WEIGHTS_KEY = "__log_weights__"
#: smallest and initial largest step length, and the factor that adapts the
#: largest one (defaults of the SQUAREM R package, Du & Varadhan 2020)
STEP_MIN = 1.0
STEP_MAX0 = 1.0
STEP_FACTOR = 4.0
#: cap on the adaptive largest step, so a long run of accepted steps cannot
#: overflow the extrapolation
STEP_MAX_CAP = 2.0**20
_TINY = np.finfo(np.float64).tiny


def _pack(family: Family, params: Mapping, fixed: frozenset):
    """Flatten the free parameters into one unconstrained vector.

    Returns
    -------
    vec : ndarray of shape (n_free,)
    layout : list of (str, tuple)
        Names and shapes, to undo the flattening.
    """
    theta = dict(family.to_unconstrained(params, fixed))
    if "weights" not in fixed:
        logw = np.log(np.maximum(np.asarray(params["weights"], dtype=np.float64), _TINY))
        theta[_WEIGHTS_KEY] = logw - logw.mean()
    keys = sorted(theta)
    arrays = [np.asarray(theta[k], dtype=np.float64) for k in keys]
    layout = [(k, a.shape) for k, a in zip(keys, arrays, strict=True)]
    vec = np.concatenate([a.ravel() for a in arrays]) if arrays else np.empty(0)
    return vec, layout


def _unpack(family: Family, vec: np.ndarray, layout, ref: Mapping, fixed: frozenset) -> dict:
    """Parameters from an unconstrained vector; ``ref`` supplies fixed ones.

    Raises
    ------
    ValueError
        When the family cannot map the point back (for example a covariance
        that is not positive definite) or a parameter is not finite.
    """
    theta = {}
    start = 0
    for key, shape in layout:
        size = int(np.prod(shape, dtype=np.int64))
        theta[key] = vec[start:start + size].reshape(shape)
        start += size
    log_w = theta.pop(_WEIGHTS_KEY, None)
    new = hold_fixed(family, dict(family.from_unconstrained(theta, ref, fixed)), ref, fixed)
    if log_w is None:
        new["weights"] = np.array(ref["weights"], dtype=np.float64)
    else:
        w = np.exp(log_w - log_w.max())
        new["weights"] = w / w.sum()
    for key, value in new.items():
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"extrapolated parameter {key!r} is not finite")
    return new


def run_squarem(
    family: Family,
    params: dict,
    stats: Stats,
    ll: float,
    data: Data,
    backend: NumpyBackend,
    monitor: ConvergenceMonitor,
    *,
    fixed: frozenset = frozenset(),
    catch_interrupt: bool = False,
    keeper: LabelKeeper | None = None,
) -> EMResult:
    """EM accelerated by SQUAREM (scheme S3 with an adaptive step bound).

    Called by :func:`emkit.engine.em.run_em` (``acceleration="squarem"``),
    which has made the monitor and evaluated the start; returns the same
    :class:`~emkit.engine.em.EMResult` as plain EM.  The cycle itself is
    :func:`squarem_steps`; here each step it asks for is taken at once
    (:func:`emkit.engine.batch.run_squarem_batch` takes those of several
    runs together).

    Parameters
    ----------
    family : Family
        Must implement ``to_unconstrained`` and ``from_unconstrained``.
    params : dict
        Initial parameters, ``"weights"`` included.
    stats : Stats
        Statistics of ``params`` (from its E-step).
    ll : float
        Mean log-likelihood of ``params``, already given to ``monitor.start``.
    data : Data
    backend : NumpyBackend
    monitor : ConvergenceMonitor
        Carries ``tol`` and ``max_iter`` (data passes after the one that
        evaluated ``params``; never exceeded), the stopping rule, the
        callback (called after every accepted iterate with ``iteration``,
        ``log_likelihood``, ``change``, ``params``, ``step_length`` and
        ``extrapolated``, False for plain EM iterates) and logging.
    fixed : frozenset of str
        Parameter names held at their initial values.
    catch_interrupt : bool
        Turn a ``KeyboardInterrupt`` into a stopped, unconverged result with
        the last accepted parameters.
    keeper : LabelKeeper or None
        Given to every E-step (labels of the last few iterates).

    Returns
    -------
    EMResult
        ``n_iter`` counts data passes after the initial one, so it compares
        directly with plain EM's ``n_iter``.  ``history`` of shape
        (n_accepted,) holds the mean log-likelihood of every accepted iterate
        (one per SQUAREM cycle, plus plain EM steps); it never decreases.
        ``extra`` holds ``n_cycles``, ``n_rejected`` (fallbacks to the EM
        iterate), ``n_m_steps`` and the monitor's ``n_passes``.

    Notes
    -----
    Every cycle starts with a plain EM step from the accepted iterate
    ``theta0``.  When that step gains less than ``tol`` a second plain EM
    step is evaluated and Aitken's rule decides convergence on the three
    log-likelihoods, exactly as for plain EM; the run then ends on that EM
    step.  Otherwise the cycle extrapolates: three data passes when the
    extrapolation is accepted (the E-steps at ``theta1``, ``theta'`` and
    ``theta''``, as in the SQUAREM R package), four when it falls back to
    ``theta2``.  A cycle starts only if its passes fit in ``max_iter``;
    otherwise plain EM steps use up the remaining passes.
    """
    run = squarem_steps(family, params, stats, ll, monitor, fixed=fixed,
                        catch_interrupt=catch_interrupt)
    reply, failure = None, None
    while True:
        try:
            step = run.send(reply) if failure is None else run.throw(failure)
        except StopIteration as done:
            return done.value
        try:  # the step's exception goes back into the run, which handles it as inline
            reply, failure = take_step(family, step, data, backend, fixed, keeper), None
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt included, as inline
            reply, failure = None, exc


class Step(NamedTuple):
    """One step a SQUAREM run asks for (see :func:`squarem_steps`).

    Attributes
    ----------
    kind : {"e", "m"}
        ``"e"``: the E-step of ``params``, answered with ``(stats, mean
        log-likelihood)``; ``"m"``: the M-step (weights included) from
        ``stats`` with ``params`` as the previous iterate, answered with the
        new parameters.
    params : dict
    stats : Stats or None
    quiet : bool
        Floating-point warnings off (an extrapolated point may overflow).
    """

    kind: str
    params: dict
    stats: object = None
    quiet: bool = False


def take_step(family: Family, step: Step, data: Data, backend: NumpyBackend, fixed: frozenset,
              keeper: LabelKeeper | None = None):
    """The answer to one :class:`Step` of one run (raises what the step raises)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore") if step.quiet \
            else nullcontext():
        if step.kind == "e":
            return expectation(family, step.params, data, backend, keeper)
        return maximization(family, step.stats, step.params, fixed)


def squarem_steps(family: Family, params: dict, stats: Stats, ll: float,
                  monitor: ConvergenceMonitor, *, fixed: frozenset = frozenset(),
                  catch_interrupt: bool = False) -> Generator[Step, object, EMResult]:
    """One SQUAREM run as a generator of the E- and M-steps it needs.

    Yields a :class:`Step` and receives its answer (or has the exception the
    step raised thrown in, handled as if the step had run inline); returns
    the :class:`~emkit.engine.em.EMResult` that :func:`run_squarem` returns.
    The run's decisions (step lengths, acceptance, convergence) are all
    made here, so a driver that answers the steps of several runs together
    (:func:`emkit.engine.batch.run_squarem_batch`) gives each run what it
    gets alone, up to the rounding of the answers.  The arguments are those
    of :func:`run_squarem`.
    """
    tol = monitor.tol
    n_m = 0
    n_cycles = 0
    n_rejected = 0
    interrupted = False
    step_max = STEP_MAX0

    def accept(p, s, value, alpha, extrapolated):
        nonlocal params, stats, ll
        params, stats, ll = p, s, value
        monitor.record(value, p, step_length=alpha, extrapolated=extrapolated)

    try:
        while monitor.passes_left > 0:
            ll_start = ll
            # plain EM step from the accepted iterate: also the convergence probe
            p1 = yield Step("m", params, stats)
            n_m += 1
            s1, ll1 = yield Step("e", p1)
            monitor.count_pass()
            if monitor.check_step(ll_start, ll1):  # a fixed point: nothing moved
                accept(p1, s1, ll1, 1.0, False)
                break
            p2 = yield Step("m", p1, s1)
            n_m += 1
            s2 = ll2 = None
            if ll1 - ll_start < tol and monitor.passes_left > 0:
                # the second plain EM step decides convergence, as in plain EM
                s2, ll2 = yield Step("e", p2)
                monitor.count_pass()
                if monitor.check(ll_start, ll1, ll2):
                    accept(p1, s1, ll1, 1.0, False)
                    accept(p2, s2, ll2, 1.0, False)
                    break
            # passes the rest of the cycle may need: 2 for the extrapolation,
            # 1 more for the fallback unless theta2 is already evaluated
            need = 2 + (s2 is None)
            if monitor.passes_left < need:  # no room for a cycle: plain EM
                accept(p1, s1, ll1, 1.0, False)
                if s2 is not None:
                    accept(p2, s2, ll2, 1.0, False)
                continue
            n_cycles += 1
            step = _step_length(family, params, p1, p2, fixed, step_max)
            a = 1.0 if step is None else step[0]
            result = None
            if step is not None and abs(a - 1.0) > 0.01:
                result, used = yield from _extrapolate(family, step, p2, fixed, ll_start, params)
                monitor.count_pass(used)
                n_m += used > 1
                if result is None:  # safeguard: fall back to the plain EM iterate
                    n_rejected += 1
                    if a == step_max:
                        step_max = max(STEP_MAX0, step_max / STEP_FACTOR)
                    a = 1.0
            if result is not None:
                accept(*result, a, True)
            else:
                if s2 is None:
                    s2, ll2 = yield Step("e", p2)
                    monitor.count_pass()
                accept(p2, s2, ll2, a, False)
                if monitor.check(ll_start, ll1, ll2):
                    break
            if a == step_max:
                step_max = min(STEP_FACTOR * step_max, STEP_MAX_CAP)
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        interrupted = True
    return monitor_result(monitor, params, interrupted, n_cycles=n_cycles, n_rejected=n_rejected,
                          n_m_steps=n_m)


def _step_length(family, p0, p1, p2, fixed, step_max):
    """Bounded S3 step length and the vectors the extrapolation needs.

    Returns
    -------
    (alpha, r, v, theta0, layout) or None
        ``None`` when the iterates cannot be mapped to unconstrained
        coordinates or the step is not defined (no free parameters or
        ``v == 0``).
    """
    try:
        v0, layout = _pack(family, p0, fixed)
        v1, _ = _pack(family, p1, fixed)
        v2, _ = _pack(family, p2, fixed)
    except ValueError:
        return None
    r = v1 - v0
    v = v2 - v1 - r
    sr2 = float(r @ r)
    sv2 = float(v @ v)
    if not (sv2 > 0.0 and np.isfinite(sr2) and np.isfinite(sv2)):
        return None
    alpha = min(step_max, max(STEP_MIN, float(np.sqrt(sr2 / sv2))))
    return alpha, r, v, v0, layout


def _extrapolate(family, step, ref, fixed, ll0, p0):
    """Extrapolated point followed by one stabilising EM step (a generator of its steps).

    Parameters
    ----------
    step : tuple
        What :func:`_step_length` returned.
    ref : dict
        Latest EM iterate; supplies the fixed parameters.
    ll0 : float
        Mean log-likelihood of the cycle's starting point.
    p0 : dict
        The cycle's starting point.

    Returns
    -------
    result : (params, stats, log_likelihood) or None
        ``None`` when the point is invalid or its EM image scores below
        ``ll0`` (or is not finite).
    passes : int
        Data passes spent (0, 1 or 2).
    """
    alpha, r, v, v0, layout = step
    passes = 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            pe = _unpack(family, v0 + 2.0 * alpha * r + alpha * alpha * v, layout, ref, fixed)
        se, lle = yield Step("e", pe, quiet=True)
        passes += 1
        if not np.isfinite(lle):
            return None, passes
        # stabilise with one EM step
        p3 = yield Step("m", pe, se, quiet=True)
        s3, ll3 = yield Step("e", p3, quiet=True)
        passes += 1
    except (ValueError, FloatingPointError):
        return None, passes
    if not (np.isfinite(ll3) and ll3 >= ll0):
        return None, passes
    # a long step can land in the basin of a spurious maximum (a component
    # collapsed onto repeated values) that plain EM from theta0 would not
    # reach: such a jump is refused, and plain EM decides
    # (p0 is looked at only when p3 has a degenerate component: most have none)
    collapsed = set(family.degenerate_components(p3))
    if collapsed and collapsed - set(family.degenerate_components(p0)):
        return None, passes
    return (p3, s3, ll3), passes
