"""Bootstrap standard errors and percentile intervals of a fitted mixture's parameters.

The analogue of mclust's ``MclustBootstrap`` (Scrucca, Fop, Murphy & Raftery,
R Journal 8:289-317, 2016; O'Hagan, Murphy, Scrucca & Gormley, Computational
Statistics 34:1633-1660, 2019) for any emkit estimator.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._resample import (
    KINDS,
    check_fitted_model,
    check_n_boot,
    component_axes,
    failure_summary,
    match_components,
    parallel_map,
    permuted,
    refit,
    replicate_data,
    replicate_seeds,
)
from ._validation import check_choice, check_float_param
from .exceptions import BootstrapFailureWarning

__all__ = ["BootstrapResult", "bootstrap"]

logger = logging.getLogger("emkit")


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap distribution of a fitted mixture's parameters.

    Every dict is keyed by parameter name (``"weights"`` and the family's
    parameters, for example ``"means"`` and ``"covariances"``) and holds
    arrays of the fitted parameter's shape, components in the original fit's
    order.

    Attributes
    ----------
    kind : str
    n_boot : int
        Replicates asked for.
    n_fitted : int
        Replicates that were refitted; the statistics are over these.
    n_failed : int
        Replicates whose refit failed (``n_boot - n_fitted``); see ``failures``.
    failures : tuple of str
        The reason of every failed replicate, prefixed by its 1-based number.
    n_unconverged : int
        Refitted replicates that stopped at ``max_iter`` (kept, as mclust does).
    level : float
        Coverage of the percentile intervals.
    estimates : dict of str to ndarray
        The original fit's parameters.
    replicates : dict of str to ndarray of shape (n_fitted, ...)
    std_errors : dict of str to ndarray
        Standard deviation over replicates (``ddof=1``, as R's ``sd``).
    ci_lower, ci_upper : dict of str to ndarray
        Percentile interval ends (``numpy.quantile``'s linear rule, R's type 7).
    """

    kind: str
    n_boot: int
    n_fitted: int
    n_failed: int
    failures: tuple
    n_unconverged: int
    level: float
    estimates: dict = field(repr=False)
    replicates: dict = field(repr=False)
    std_errors: dict = field(repr=False)
    ci_lower: dict = field(repr=False)
    ci_upper: dict = field(repr=False)

    def to_dict(self) -> dict:
        """Plain lists and numbers (JSON-ready), replicates left out."""
        def lists(d):
            return {k: np.asarray(v).tolist() for k, v in d.items()}

        return {"kind": self.kind, "n_boot": self.n_boot, "n_fitted": self.n_fitted,
                "n_failed": self.n_failed, "failures": list(self.failures),
                "n_unconverged": self.n_unconverged, "level": self.level,
                "estimates": lists(self.estimates), "std_errors": lists(self.std_errors),
                "ci_lower": lists(self.ci_lower), "ci_upper": lists(self.ci_upper)}


def _one(model, X, kind, kwargs, seed, reference_resp, names, axes):
    """Refit one replicate; its parameters in the reference order, or its failure."""
    rng = np.random.RandomState(seed)
    try:
        Xb, wb, kw = replicate_data(model, X, kind, rng, kwargs)
    except (ValueError, FloatingPointError) as exc:
        return None, f"drawing the replicate failed: {exc}", False
    fit = refit(model, Xb, wb, kw, seed)
    if fit.model is None:
        return None, fit.reason, False
    perm = match_components(reference_resp, fit.model.predict_proba(X, **kwargs))
    params = fit.model._fitted_params()
    return permuted({k: params[k] for k in names}, perm, axes), "", fit.converged


def bootstrap(model, X, n_boot=999, *, kind="nonparametric", level=0.95, random_state=None,
              n_jobs=None, **kwargs) -> BootstrapResult:
    """Bootstrap standard errors and percentile intervals of every fitted parameter.

    Each replicate data set is refitted by a copy of ``model`` started from
    its fitted parameters (mclust's ``MclustBootstrap`` restarts ``me()`` from
    the original fit's probabilities), run to the estimator's own ``tol``.
    Label switching is undone by matching each replicate's components to the
    original fit through their posterior probabilities on ``X``
    (:func:`emkit._resample.match_components`).

    Parameters
    ----------
    model : fitted emkit mixture estimator
    X : array-like of shape (n_samples, n_features)
        The data ``model`` was fitted on.
    n_boot : int, default=999
        Number of replicates.
    kind : {"nonparametric", "parametric", "weighted"}, default="nonparametric"
        Rows resampled with replacement (Efron 1979); rows drawn from the
        fitted mixture; or every row kept with an Exp(1) weight, the weighted
        likelihood bootstrap (Newton & Raftery 1994).  mclust's ``"bs"``,
        ``"pb"`` and ``"wlbs"``.
    level : float, default=0.95
        Coverage of the percentile intervals.
    random_state : int, RandomState instance or None, default=None
        Seeds the replicates; the result does not depend on ``n_jobs``.
    n_jobs : int or None, default=None
        joblib workers for the refits (None: one, in this process).
    **kwargs
        Per-row side data the model was fitted with (binomial ``trials``).

    Returns
    -------
    result : BootstrapResult

    Raises
    ------
    ValueError
        Bad arguments, or every replicate failed.

    Warns
    -----
    BootstrapFailureWarning
        When some replicates failed: they are counted in ``n_failed`` and
        their reasons kept in ``failures``, never silently dropped.

    References
    ----------
    Efron, B. (1979). Bootstrap methods: another look at the jackknife.
    Annals of Statistics 7:1-26.
    Newton, M. A. and Raftery, A. E. (1994). Approximate Bayesian inference
    with the weighted likelihood bootstrap. JRSS-B 56:3-48.
    """
    n_boot = check_n_boot(n_boot)
    check_choice(kind, "kind", KINDS)
    check_float_param(level, "level", 0.0)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    X = check_fitted_model(model, X, kwargs, "bootstrap")
    estimates = model._fitted_params()
    names = ("weights",) + tuple(p for p in model._fitted_family().param_names if p in estimates)
    estimates = {k: np.asarray(estimates[k], dtype=np.float64) for k in names}
    axes = component_axes(model)
    reference = model.predict_proba(X, **kwargs)
    seeds = replicate_seeds(random_state, n_boot)
    out = parallel_map(_one, [(model, X, kind, kwargs, int(s), reference, names, axes)
                              for s in seeds], n_jobs)
    kept = [p for p, _, _ in out if p is not None]
    failures = tuple(f"replicate {b + 1}: {r}" for b, (p, r, _) in enumerate(out) if p is None)
    if not kept:
        raise ValueError(f"bootstrap: every one of the {n_boot} replicates failed; first: "
                         f"{failures[0]}. Check the fit (degenerate components?) or the data")
    if failures:
        warnings.warn(
            f"bootstrap: {len(failures)} of {n_boot} replicates failed and are left out of the "
            f"standard errors: {failure_summary([f.split(': ', 1)[1] for f in failures])}",
            BootstrapFailureWarning, stacklevel=2)
    reps = {k: np.stack([p[k] for p in kept]) for k in names}
    alpha = (1.0 - level) / 2.0
    se = {k: (v.std(axis=0, ddof=1) if len(kept) > 1 else np.zeros_like(v[0]))
          for k, v in reps.items()}
    logger.info("bootstrap (%s): %d of %d replicates refitted", kind, len(kept), n_boot)
    return BootstrapResult(
        kind=kind, n_boot=n_boot, n_fitted=len(kept), n_failed=len(failures), failures=failures,
        n_unconverged=sum(1 for p, _, c in out if p is not None and not c), level=float(level),
        estimates=estimates, replicates=reps, std_errors=se,
        ci_lower={k: np.quantile(v, alpha, axis=0) for k, v in reps.items()},
        ci_upper={k: np.quantile(v, 1.0 - alpha, axis=0) for k, v in reps.items()},
    )
