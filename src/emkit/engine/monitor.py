"""Convergence monitor shared by plain EM and SQUAREM.

One object keeps the log-likelihood history, counts data passes (fused
E-steps over every row), warns when the log-likelihood goes down by more
than rounding, and decides when a run stops.

Stopping rule
-------------
EM converges linearly: near a maximum the gains ``d_k = l_k - l_{k-1}`` of
the mean per-sample log-likelihood shrink roughly geometrically,
``d_{k+1} ~ a d_k`` with a rate ``a`` in ``[0, 1)``.  On a flat ridge ``a`` is
close to 1 and the gains are tiny long before the limit is reached, so the
classic rule "stop when the last gain is below ``tol``" stops far from the
maximum (reference case 2 stopped 104 log-likelihood units short).  Aitken's
acceleration estimates the limit from three consecutive EM iterates,

    l_inf = l_{k-1} + d_k / (1 - a),   a = d_k / d_{k-1},

and the run is converged when the estimated gain still to come,
``l_inf - l_{k-1} = d_k / (1 - a)``, is below ``tol`` (Böhning, Dietz,
Schaub, Schlattmann & Lindsay 1994; the form of McNicholas, Murphy,
McDaid & Frost 2010).  The rule uses the per-sample mean, so it is the same
for any number of rows and unchanged when the data are rescaled (a rescaling
shifts every log-likelihood by the same constant).

A run that reaches ``max_iter`` is not converged; when its last gain was
already below ``tol`` (the classic rule would have stopped there) it is
marked as stopped on a plateau.

References
----------
Böhning, D., Dietz, E., Schaub, R., Schlattmann, P. and Lindsay, B. G.
(1994). The distribution of the likelihood ratio for mixtures of densities
from the one-parameter exponential family. Annals of the Institute of
Statistical Mathematics 46(2):373-388.
McNicholas, P. D., Murphy, T. B., McDaid, A. F. and Frost, D. (2010).
Serial and parallel implementations of model-based clustering via
parsimonious Gaussian mixture models. Computational Statistics & Data
Analysis 54(3):711-723.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import numpy as np

from ..exceptions import LikelihoodDecreaseWarning

logger = logging.getLogger("emkit")

#: default threshold on the estimated remaining gain of the mean per-sample
#: log-likelihood (see benchmarks/README.md for the measurements behind it)
DEFAULT_TOL = 1e-9
#: default limit on data passes per run
DEFAULT_MAX_ITER = 1000
#: relative size of a change that rounding alone can produce in the mean
#: log-likelihood (a float64 sum of ``n`` terms); a change this small counts
#: as no change.  Noise above it is harmless: a noisy step that goes down
#: also counts as no gain, so a run in the noise stops within a few steps.
ROUNDING = 4 * np.finfo(np.float64).eps
#: relative decrease that earns a warning.  Beyond rounding, a covariance
#: floor (``reg_covar``) makes the M-step a slightly biased one, which can
#: lower the log-likelihood in its last digits near convergence (measured:
#: up to 3e-11 on reference case 2); real faults are many orders larger.
DECREASE_WARN = 1e-8


def rounding_level(value: float, eps: float = np.finfo(np.float64).eps) -> float:
    """Largest change of ``value`` that rounding alone can explain.

    ``eps`` is the machine epsilon of the data's dtype: float32 log densities
    carry float32 rounding into the mean log-likelihood.
    """
    return max(ROUNDING, 4.0 * eps) * (1.0 + abs(value))


def aitken_remaining(l0: float, l1: float, l2: float, eps: float = np.finfo(np.float64).eps) -> float:
    """Aitken estimate of the gain still to come after ``l1``, ``l_inf - l1``.

    Parameters
    ----------
    l0, l1, l2 : float
        Mean log-likelihoods of three consecutive plain EM iterates.
    eps : float
        Machine epsilon of the data's dtype.

    Returns
    -------
    remaining : float
        ``d2 / (1 - a)`` with ``d1 = l1 - l0``, ``d2 = l2 - l1`` and
        ``a = d2 / d1`` when ``0 < d2 < d1``; 0 when the last step gained
        nothing measurable (EM is at its fixed point up to rounding, or up to
        the small bias of a covariance floor, which can make the last digits
        fall); ``inf`` when the gains do not shrink.
    """
    d1 = l1 - l0
    d2 = l2 - l1
    if d2 <= rounding_level(l2, eps):
        return 0.0
    if d1 <= 0 or d2 >= d1:
        return np.inf
    return d2 / (1.0 - d2 / d1)


class ConvergenceMonitor:
    """History, pass count, decrease warnings and the stopping decision of one run.

    Parameters
    ----------
    tol : float
        Threshold on Aitken's estimate of the gain of the mean per-sample
        log-likelihood still to come.
    max_iter : int
        Data passes allowed after the one that evaluates the start.
    callback : callable or None
        Called with a dict after every recorded iterate.
    verbose, verbose_interval : int
        With ``verbose >= 2`` log every ``verbose_interval``-th record.
    label : str
        Name of the run in log messages and warnings.
    eps : float
        Machine epsilon of the data's dtype (float32 data round their log
        densities more coarsely).
    slack : float
        Relative decrease the family's M-step may cause
        (``Family.likelihood_slack``); no warning below it.
    warn_decrease : bool
        Warn at once on a decrease; with False only count it and keep the
        first message in :attr:`first_decrease` (a caller that may discard
        the run warns for the run it keeps).
    rule : {"aitken", "change"}
        ``"aitken"`` (the default): Aitken's estimate of the remaining gain
        below ``tol``.  ``"change"``: the last gain below ``tol`` (the classic
        rule, kept for comparisons; it stops on plateaus).

    Attributes
    ----------
    history : list of float
        Mean per-sample log-likelihood of every recorded iterate.
    n_passes : int
        Data passes so far, the one that evaluated the start included.
    converged : bool
    plateau : bool
        The run ended unconverged while its last gain was already below
        ``tol``: a slow plateau, where the classic "last gain below tol" rule
        would have stopped and called it converged.
    n_decreases : int
        Recorded iterates whose log-likelihood fell by more than rounding.
    """

    def __init__(self, tol: float, max_iter: int, *, callback: Callable[[dict], None] | None = None,
                 verbose: int = 0, verbose_interval: int = 10, label: str = "EM",
                 rule: str = "aitken", eps: float = np.finfo(np.float64).eps,
                 slack: float = 0.0, warn_decrease: bool = True):
        if rule not in ("aitken", "change"):
            raise ValueError(f"rule must be 'aitken' or 'change', got {rule!r}")
        self.rule = rule
        self.eps = float(eps)
        self.slack = float(slack)
        self.warn_decrease = bool(warn_decrease)
        self.first_decrease: str | None = None
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.callback = callback
        self.verbose = verbose
        self.verbose_interval = max(1, int(verbose_interval))
        self.label = label
        self.history: list[float] = []
        self.initial: float | None = None
        self.n_passes = 0
        self.converged = False
        self.plateau = False
        self.n_decreases = 0
        self.last_change = np.inf

    # ---------------------------------------------------------------- passes
    def count_pass(self, n: int = 1) -> None:
        """Record ``n`` data passes (fused E-steps over every row)."""
        self.n_passes += n

    @property
    def n_iter(self) -> int:
        """Data passes after the one that evaluated the start."""
        return max(0, self.n_passes - 1)

    @property
    def passes_left(self) -> int:
        """Data passes still allowed by ``max_iter``."""
        return self.max_iter - self.n_iter

    # --------------------------------------------------------------- history
    def start(self, value: float) -> None:
        """Record the log-likelihood of the starting point (its pass included)."""
        self.count_pass()
        self.initial = float(value)

    @property
    def current(self) -> float:
        return self.history[-1] if self.history else self.initial

    def record(self, value: float, params, **info) -> None:
        """Record an accepted iterate, warn on a decrease, call the callback."""
        value = float(value)
        previous = self.current
        change = value - previous
        self.last_change = change
        if change < -max(DECREASE_WARN, 100.0 * self.eps, self.slack) * (1.0 + abs(previous)):
            self.n_decreases += 1
            message = (
                f"{self.label}: the mean log-likelihood decreased from {previous:.12g} to "
                f"{value:.12g} (by {-change:.3g}) at data pass {self.n_passes}, more than "
                "rounding explains; EM should never go down, so the data or a custom family "
                "may be ill-conditioned (scale the data or increase reg_covar)"
            )
            if self.first_decrease is None:
                self.first_decrease = message
            if self.warn_decrease:
                warnings.warn(message, LikelihoodDecreaseWarning, stacklevel=4)
        self.history.append(value)
        if self.verbose >= 2 and len(self.history) % self.verbose_interval == 0:
            logger.info("iteration %d: mean log-likelihood %.10g (change %.3g) [%s, data pass %d]",
                        len(self.history), value, change, self.label, self.n_iter)
        if self.callback is not None:
            self.callback({"iteration": self.n_iter, "log_likelihood": value, "change": change,
                           "params": params, **info})

    # -------------------------------------------------------------- stopping
    def check(self, l0: float, l1: float, l2: float) -> bool:
        """Decide convergence from three consecutive plain EM iterates.

        Sets and returns :attr:`converged`.
        """
        if self.rule == "change":
            remaining = abs(l2 - l1)
        else:
            remaining = aitken_remaining(l0, l1, l2, self.eps)
        if remaining < self.tol:
            self.converged = True
        return self.converged

    def check_step(self, l0: float, l1: float) -> bool:
        """Converged when one plain EM step changed nothing measurable (a fixed point).

        Sets and returns :attr:`converged`.
        """
        if self.tol > 0 and l1 - l0 <= rounding_level(l1, self.eps):
            self.converged = True
        return self.converged

    def finish(self) -> None:
        """Mark a run that ended unconverged on a plateau (last gain below ``tol``)."""
        if not self.converged and self.history:
            self.plateau = abs(self.last_change) < self.tol

    def summary(self) -> dict:
        """What :class:`~emkit.engine.em.EMResult` keeps in ``extra``."""
        return {"n_passes": self.n_passes, "plateau": self.plateau, "n_decreases": self.n_decreases,
                "first_decrease": self.first_decrease}
