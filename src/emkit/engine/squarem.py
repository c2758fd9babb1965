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

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from ._steps import Step, take_step
from .em import EMResult, LabelKeeper, hold_fixed, monitor_result
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


def _pack(family: Family, params: Mapping, fixed: frozenset, theta: Mapping | None = None):
    """Flatten the free parameters into one unconstrained vector.

    ``theta``: the family's coordinates of ``params`` (``to_unconstrained``),
    when already computed.

    Returns
    -------
    vec : ndarray of shape (n_free,)
    layout : list of (str, tuple)
        Names and shapes, to undo the flattening.
    """
    theta = dict(family.to_unconstrained(params, fixed) if theta is None else theta)
    if "weights" not in fixed:
        logw = np.log(np.maximum(np.asarray(params["weights"], dtype=np.float64), _TINY))
        theta[_WEIGHTS_KEY] = logw - logw.mean()
    keys = sorted(theta)
    arrays = [np.asarray(theta[k], dtype=np.float64) for k in keys]
    layout = [(k, a.shape) for k, a in zip(keys, arrays, strict=True)]
    vec = np.concatenate([a.ravel() for a in arrays]) if arrays else np.empty(0)
    return vec, layout


def _split(vec: np.ndarray, layout) -> tuple[dict, np.ndarray | None]:
    """The family's coordinates and the centred log-weights (or None) of a packed vector."""
    theta = {}
    start = 0
    for key, shape in layout:
        size = int(np.prod(shape, dtype=np.int64))
        theta[key] = vec[start:start + size].reshape(shape)
        start += size
    return theta, theta.pop(_WEIGHTS_KEY, None)


def _unpacked(family: Family, new: dict, log_w, ref: Mapping, fixed: frozenset) -> dict:
    """Parameters from the family's ``from_unconstrained`` output ``new`` and the
    log-weights of :func:`_split`; ``ref`` supplies fixed ones.

    Raises
    ------
    ValueError
        When a parameter is not finite.
    """
    new = hold_fixed(family, dict(new), ref, fixed)
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
            try:
                coords = yield Step("pack", (params, p1, p2))
            except ValueError:  # not mappable to unconstrained coordinates: no step
                coords = None
            step = None if coords is None else _step_length(family, params, p1, p2, fixed,
                                                            step_max, coords)
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


def _step_length(family, p0, p1, p2, fixed, step_max, coords=(None, None, None)):
    """Bounded S3 step length and the vectors the extrapolation needs.

    ``coords``: the family's unconstrained coordinates of the three iterates,
    when already computed.

    Returns
    -------
    (alpha, r, v, theta0, layout) or None
        ``None`` when the iterates cannot be mapped to unconstrained
        coordinates or the step is not defined (no free parameters or
        ``v == 0``).
    """
    try:
        v0, layout = _pack(family, p0, fixed, coords[0])
        v1, _ = _pack(family, p1, fixed, coords[1])
        v2, _ = _pack(family, p2, fixed, coords[2])
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
            theta, log_w = _split(v0 + 2.0 * alpha * r + alpha * alpha * v, layout)
        new = yield Step("unpack", ref, theta, quiet=True)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            pe = _unpacked(family, new, log_w, ref, fixed)
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
    collapsed = set((yield Step("degenerate", p3)))
    if collapsed and collapsed - set((yield Step("degenerate", p0))):
        return None, passes
    return (p3, s3, ll3), passes
