"""Bootstrap likelihood-ratio test for the number of mixture components.

McLachlan, G. J. (1987). On bootstrapping the likelihood ratio test statistic
for the number of components in a normal mixture. Applied Statistics
36:318-324.  The analogue of mclust's ``mclustBootstrapLRT`` for any emkit
estimator.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone

from ._resample import (
    check_n_boot,
    failure_summary,
    parallel_map,
    parametric_sample,
    refit,
    replicate_seeds,
)
from ._validation import check_float_param, check_int_param
from .backends.dask_backend import is_dask_array
from .engine.starts import START_ERRORS
from .exceptions import BootstrapFailureWarning

__all__ = ["BootstrapLRTResult", "bootstrap_lrt"]

logger = logging.getLogger("emkit")

#: mclust's default grid when no max_components is given: G = 1..9, so K = 1..8 are tested
_DEFAULT_MAX = 8


@dataclass(frozen=True)
class BootstrapLRTResult:
    """Sequential bootstrap likelihood-ratio tests of K against K + 1 components.

    Attributes
    ----------
    n_components : ndarray of shape (n_tests,)
        The null K of every test (1, 2, ...).
    log_likelihood : ndarray of shape (n_tests + 1,)
        Total log-likelihood of the fits with 1 .. n_tests + 1 components.
    statistic : ndarray of shape (n_tests,)
        Observed ``LRTS = 2 (log L_{K+1} - log L_K)``.
    p_value : ndarray of shape (n_tests,)
        ``(1 + #{LRTS_b >= LRTS}) / (B + 1)`` over the ``B`` refitted replicates.
    boot_statistics : list of ndarray
        The replicates' statistics of every test.
    n_failed : ndarray of shape (n_tests,)
        Replicates of every test whose refit failed (counted, left out).
    failures : tuple of str
    n_boot : int
    level : float
    selected : int
        The first K whose test does not reject at ``level`` (the largest K
        tested + 1 when every test rejects).
    """

    n_components: np.ndarray
    log_likelihood: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    boot_statistics: list = field(repr=False)
    n_failed: np.ndarray = field(repr=False)
    failures: tuple = field(repr=False)
    n_boot: int = 0
    level: float = 0.05
    selected: int = 1

    def to_dict(self) -> dict:
        """Plain lists and numbers (JSON-ready), replicate statistics left out."""
        return {"n_components": self.n_components.tolist(),
                "log_likelihood": self.log_likelihood.tolist(),
                "statistic": self.statistic.tolist(), "p_value": self.p_value.tolist(),
                "n_failed": self.n_failed.tolist(), "failures": list(self.failures),
                "n_boot": self.n_boot, "level": self.level, "selected": self.selected}


def _total_loglik(model, X, kwargs) -> float:
    return float(model.score_samples(X, **kwargs).sum())


def _one(null, alt, n, kwargs, seed):
    """LRTS of one parametric replicate drawn from ``null``, or its failure."""
    rng = np.random.RandomState(seed)
    try:
        Xb = parametric_sample(null, n, rng, kwargs)
    except (ValueError, FloatingPointError) as exc:
        return None, f"drawing the replicate failed: {exc}"
    f0 = refit(null, Xb, None, kwargs, seed)
    if f0.model is None:
        return None, f"{null.n_components} components: {f0.reason}"
    f1 = refit(alt, Xb, None, kwargs, seed)
    if f1.model is None:
        return None, f"{alt.n_components} components: {f1.reason}"
    return 2.0 * (_total_loglik(f1.model, Xb, kwargs) - _total_loglik(f0.model, Xb, kwargs)), ""


def lrt_pair(null, alt, X, seeds, n_jobs, kwargs):
    """Observed and bootstrap LRTS of the fitted ``null`` against the fitted ``alt``.

    One parametric replicate per seed, drawn from ``null`` and refitted from
    both fits' parameters.

    Returns
    -------
    obs : float
    boot : ndarray of shape (n_refitted,)
    failures : list of str
        'replicate b: reason' of every replicate that failed.

    Raises
    ------
    ValueError
        When every replicate failed.
    """
    n = X.shape[0]
    obs = 2.0 * (_total_loglik(alt, X, kwargs) - _total_loglik(null, X, kwargs))
    out = parallel_map(_one, [(null, alt, n, kwargs, int(s)) for s in seeds], n_jobs)
    boot = np.array([s for s, _ in out if s is not None], dtype=np.float64)
    bad = [f"replicate {b + 1}: {r}" for b, (s, r) in enumerate(out) if s is None]
    if boot.size == 0:
        raise ValueError(f"bootstrap_lrt: every replicate of the test of {null.n_components} "
                         f"against {alt.n_components} components failed; first: {bad[0]}")
    return obs, boot, bad


def _fit(template, K, X, kwargs):
    model = clone(template).set_params(n_components=K)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X, **kwargs)
    except START_ERRORS as exc:
        raise ValueError(f"bootstrap_lrt: the fit with {K} components failed ({exc}); "
                         "test fewer components (max_components) or check the data") from exc


def bootstrap_lrt(X, model, *, max_components=None, n_boot=999, level=0.05, random_state=None,
                  n_jobs=None, **kwargs) -> BootstrapLRTResult:
    """Bootstrap likelihood-ratio tests of K against K + 1 components, K = 1, 2, ...

    For each K the observed statistic ``LRTS = 2 (log L_{K+1} - log L_K)``
    is compared with its distribution under K components (McLachlan 1987):
    ``n_boot`` data sets are drawn from the K-component fit, and each is
    refitted with K and with K + 1 components, started from the two fits to
    ``X`` (as mclust's ``mclustBootstrapLRT`` restarts ``em()``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    model : emkit mixture estimator
        Template of the fits (family, covariance type, start, tolerance); its
        ``n_components`` is replaced by each K.  It need not be fitted.
    max_components : int or None, default=None
        Test K = 1 .. max_components, all of them.  None tests K = 1, 2, ...
        up to 8 and stops at the first K that is not rejected at ``level``
        (mclust's default).
    n_boot : int, default=999
        Replicates per test.
    level : float, default=0.05
        Significance level of the sequential stop and of ``selected``.
    random_state : int, RandomState instance or None, default=None
        Seeds the replicates; the result does not depend on ``n_jobs``.
    n_jobs : int or None, default=None
        joblib workers for the refits.
    **kwargs
        Per-row side data (binomial ``trials``), passed to every fit.

    Returns
    -------
    result : BootstrapLRTResult

    Warns
    -----
    BootstrapFailureWarning
        When replicates failed: counted in ``n_failed``, never silently dropped.
    """
    n_boot = check_n_boot(n_boot)
    check_float_param(level, "level", 0.0)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    check_int_param(max_components, "max_components", 1, allow_none=True)
    if not hasattr(model, "_fitted_params") or not hasattr(model, "n_components"):
        raise TypeError(f"bootstrap_lrt needs an emkit mixture estimator as model, got "
                        f"{type(model).__name__}")
    if is_dask_array(X):
        raise ValueError("bootstrap_lrt refits many models and needs X in memory: pass "
                         "X.compute() instead of a dask array")
    X = clone(model)._validate_X(X, reset=True)
    n = X.shape[0]
    last = min(_DEFAULT_MAX, n - 1) if max_components is None else int(max_components)
    if last + 1 > n:
        raise ValueError(f"bootstrap_lrt: testing {last} against {last + 1} components needs more "
                         f"than {n} rows; lower max_components")
    seeds = replicate_seeds(random_state, n_boot * last).reshape(last, n_boot)
    fits = [_fit(model, 1, X, kwargs)]
    ks, stats, pvals, boots, failed, reasons = [], [], [], [], [], []
    for K in range(1, last + 1):
        fits.append(_fit(model, K + 1, X, kwargs))
        obs, boot, bad = lrt_pair(fits[K - 1], fits[K], X, seeds[K - 1], n_jobs, kwargs)
        bad = [f"K={K} {b}" for b in bad]
        p = (1.0 + np.count_nonzero(boot >= obs)) / (boot.size + 1.0)
        logger.info("bootstrap_lrt: %d vs %d components, LRTS %.6g, p %.4g", K, K + 1, obs, p)
        ks.append(K)
        stats.append(obs)
        pvals.append(p)
        boots.append(boot)
        failed.append(len(bad))
        reasons += bad
        if max_components is None and p > level:
            break
    if reasons:
        warnings.warn(
            f"bootstrap_lrt: {len(reasons)} replicates failed and are left out of the p-values: "
            f"{failure_summary([r.split(': ', 1)[1] for r in reasons])}",
            BootstrapFailureWarning, stacklevel=2)
    pv = np.array(pvals)
    not_rejected = np.flatnonzero(pv > level)
    selected = int(ks[not_rejected[0]]) if not_rejected.size else int(ks[-1] + 1)
    return BootstrapLRTResult(
        n_components=np.array(ks), statistic=np.array(stats), p_value=pv,
        log_likelihood=np.array([_total_loglik(f, X, kwargs) for f in fits]),
        boot_statistics=boots, n_failed=np.array(failed), failures=tuple(reasons),
        n_boot=n_boot, level=float(level), selected=selected)
