"""Choosing the number of components (and covariance type) by BIC, AIC or ICL.

Every candidate is fitted from the estimator's default start; then, for each
covariance type, the fits at neighbouring numbers of components are used as
starts too (see :mod:`emkit._neighbours`): ``K`` from the ``K - 1`` fit with
one component split and from the ``K + 1`` fit with two merged.  The best
non-degenerate fit of each cell is kept, which makes the log-likelihood of
each covariance type non-decreasing in ``K``; a cell where it still is not is
marked in the table (``"monotone": False``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import registry
from ._neighbours import Problem, refine
from ._neighbours_large import pass_budget, polish, select_tol
from .engine._shared_starts import shared_starts
from .exceptions import DegenerateComponentWarning, DroppedStartWarning

__all__ = ["CRITERIA", "DEFAULTS", "select_model"]

logger = logging.getLogger("emkit")

CRITERIA = ("bic", "aic", "icl")
_EXPECTED_WARNINGS = (ConvergenceWarning, DegenerateComponentWarning, DroppedStartWarning)

#: The one set of defaults of :func:`select_model`, ``emkit select`` and
#: ``emkit demo`` (the command line reads them from here).  ``None`` means the
#: estimator's own default.  Components 1..9 is mclust's default grid.
DEFAULTS = {
    "n_components": range(1, 10),
    "covariance_types": ("full", "tied", "diag", "spherical"),
    "criterion": "bic",
    "n_init": None,
    "max_iter": None,
    "tol": None,
}
#: relative slack below which a lower log-likelihood at K + 1 than at K counts as rounding
_MONOTONE_RTOL = 1e-7


def _check_components(n_components) -> list[int]:
    if isinstance(n_components, (int, np.integer)) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        ks = list(n_components)
    except TypeError:
        raise ValueError(
            f"n_components must be an int or an iterable of ints, got {n_components!r}"
        ) from None
    if not ks:
        raise ValueError("n_components is empty; give at least one number of components")
    out = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_components must hold integers >= 1, got {k!r}")
        out.append(int(k))
    return list(dict.fromkeys(out))


def _check_variants(family, values, n_features=None) -> list:
    """The values of the family's variant parameter to try (Gaussian: covariance types);
    group names (Gaussian: ``"all"``, ``"sklearn"``) stand for several."""
    if isinstance(values, str):
        values = (values,)
    what = family.variant_param.replace("_", " ")
    chosen = []
    for v in values:
        group = family.expand_variants(v, n_features) if isinstance(v, str) else None
        if group is not None:
            chosen.extend(group)
        elif v in family.variants:
            chosen.append(v)
        else:
            groups = "".join(f", {g!r}" for g in family.variant_groups)
            raise ValueError(
                f"{what} must be one of {', '.join(repr(c) for c in family.variants)}{groups}, "
                f"got {v!r}"
            )
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise ValueError(f"covariance_types is empty; give at least one {what}")
    return chosen


@shared_starts()  # the fits' family-independent start draws are made once per K
def select_model(
    X,
    n_components=DEFAULTS["n_components"],
    covariance_types=DEFAULTS["covariance_types"],
    criterion=DEFAULTS["criterion"],
    n_init=DEFAULTS["n_init"],
    random_state=None,
    *,
    sample_weight=None,
    family=None,
    max_iter=DEFAULTS["max_iter"],
    tol=DEFAULTS["tol"],
    neighbours: bool = True,
    callback: Callable[[dict], None] | None = None,
    fit_params: dict | None = None,
    estimator_params: dict | None = None,
):
    """Fit every candidate mixture and keep the one with the lowest BIC, AIC or ICL.

    Candidates are all pairs of covariance type and number of components
    (for the Gaussian family) or all numbers of components (for the discrete
    families, where covariance types do not apply).  Each is fitted from the
    estimator's default start and, with ``neighbours=True``, also from the
    fit with one component fewer (one component split in two) and the fit
    with one component more (the two most overlapping components merged);
    the cell keeps the best of these fits, non-degenerate ones first.  Fits
    in which a component collapsed (``degenerate_components_`` non-empty)
    are listed but never chosen.  Convergence and degenerate-component
    warnings of the candidates are recorded in the table instead of being
    emitted.  ``X`` is validated once, before any candidate is fitted.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or iterable of int, default=range(1, 10)
    covariance_types : str or iterable of str, default=("full", "tied", "diag", "spherical")
        Values of the family's variant parameter to try (the Gaussian
        covariance types or mclust model names); ``"all"`` stands for the
        fourteen mclust models (``"E"`` and ``"V"`` for one feature) and
        ``"sklearn"`` for full, tied, diag and spherical.  Ignored for
        families without one.
    criterion : {"bic", "aic", "icl"}, default="bic"
        ICL is the BIC plus twice the entropy of the hard classification
        (mclust's definition; see :meth:`~emkit.GaussianMixture.icl`).
    n_init : int or None, default=None
        Initialisations per candidate; None keeps the estimator's default.
    random_state : int, RandomState instance or None, default=None
        Passed to every candidate.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights; the criterion then uses the weighted
        log-likelihood and ``sum(sample_weight)`` as the sample size.
    family : str or None, default=None
        A registered family (see :func:`emkit.registry.families`); None is
        the family the registry gives real-valued columns, the Gaussian
        (:func:`emkit.registry.families_for_column`).
    max_iter : int or None, default=None
        None keeps the estimator's default, except that on data of more
        than ``emkit._neighbours.SEARCH_ROWS`` rows (unless
        ``estimator_params`` sets ``max_iter``) each run on all rows first
        gets at most ``SELECT_PASSES`` (50) data passes; a run stopped
        there is marked not converged in the table, and those whose
        criterion value is within ``POLISH_REACH`` (100) of the best cell's
        are then continued for the rest of the estimator's ``max_iter``
        (see :mod:`emkit._neighbours_large`).
    tol : float or None, default=None
        None keeps the estimator's default, except that on data of more than
        ``emkit._neighbours.SEARCH_ROWS`` rows (unless ``estimator_params``
        sets ``tol``) each run on all rows first stops at ``SELECT_TOL``
        (1e-7, see :mod:`emkit._neighbours_large`); the cells whose
        criterion value is within ``POLISH_REACH`` of the best cell's are
        then continued at the estimator's ``tol``.
    neighbours : bool, default=True
        Also start every ``K`` from its neighbours' fits (split / merge).
        Skipped when ``estimator_params`` holds parameters fixed.
    callback : callable, default=None
        Called once per candidate, after its first fit, with one dict: the
        candidate's table row as it stands then, plus ``"index"`` (0-based)
        and ``"total"`` (number of candidates).  The neighbour starts run
        after a covariance type's first fits and may improve its rows.
    fit_params : dict, default=None
        Extra keyword arguments for ``fit`` and for scoring (for instance
        per-row ``n_trials`` of a binomial mixture).
    estimator_params : dict, default=None
        Extra constructor parameters for every candidate (for instance
        ``{"reg_covar": 1e-4}`` or ``{"n_trials": 10}``).

    Returns
    -------
    best : estimator
        The chosen fitted estimator.
    table : list of dict
        One dict per candidate, in covariance type then component order,
        with keys ``"covariance_type"`` (None for discrete families),
        ``"n_components"``, ``"criterion"`` (``"bic"``, ``"aic"`` or ``"icl"``),
        ``"value"`` (of that criterion), ``"bic"``, ``"aic"`` and ``"icl"``
        (all three, whichever chooses), ``"log_likelihood"`` (total, weighted),
        ``"n_parameters"``, ``"converged"``, ``"degenerate"``, ``"best"``,
        ``"start"`` (``"default"``, ``"split"`` or ``"merge"``: where the kept
        fit started), ``"monotone"`` (False when the log-likelihood is below
        that of one component fewer of the same covariance type, None when
        there is nothing to compare), ``"error"`` (None, or why the candidate
        could not be fitted), ``"warnings"`` (messages recorded while
        fitting) and ``"model"`` (the kept fitted estimator, None on failure).
        Numbers are None for candidates that failed.

    Raises
    ------
    ValueError
        Invalid arguments or data, or no candidate could be fitted without
        degenerate components.

    References
    ----------
    Schwarz, G. (1978). Estimating the dimension of a model. Annals of
    Statistics 6(2):461-464.
    Ueda, N., Nakano, R., Ghahramani, Z. and Hinton, G. E. (2000). SMEM
    algorithm for mixture models. Neural Computation 12(9):2109-2128.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be 'bic', 'aic' or 'icl', got {criterion!r}")
    if family is None:
        family = registry.families_for_column("real")[0].name
    fam = registry.get(family)
    cls = registry.estimator_class(family)
    ks = _check_components(n_components)
    if fam.variant_param is not None:
        shape = np.shape(X) if hasattr(X, "shape") or isinstance(X, (list, tuple)) else ()
        types = _check_variants(fam, covariance_types, shape[1] if len(shape) == 2 else None)
    else:
        types = [None]
    fit_params = dict(fit_params or {})
    base = dict(estimator_params or {})
    for name, value in (("n_init", n_init), ("max_iter", max_iter), ("tol", tol)):
        if value is not None:
            base[name] = value
    base["random_state"] = random_state
    problem = Problem.validate(cls, fam.variant_param, ks[0], base, types[0], X, sample_weight,
                               fit_params, _EXPECTED_WARNINGS)
    use_neighbours = bool(neighbours) and not problem.has_fixed
    # large data: each run on all rows gets a pass budget; the capped ones that could
    # still be chosen are continued after every cell is fitted (emkit._neighbours_large)
    budget = pass_budget(problem, max_iter)
    if budget is not None:
        problem.base["max_iter"] = budget
    loose = select_tol(problem, tol)
    if loose is not None:
        problem.base["tol"] = loose

    w = problem.w if problem.weighted else None
    memo = {}  # id(model) -> (model, its criteria): each kept fit is scored once

    def scores(model):
        hit = memo.get(id(model))
        if hit is None or hit[0] is not model:
            hit = memo[id(model)] = (model, _criteria(model, problem.Xv, w, problem.fit_params))
        return hit[1]

    total = len(types) * len(ks)
    table: list[dict] = []
    best_model, best_row = None, None
    every = {}
    for ct in types:
        cells = every[ct] = {}
        fitted = problem.fit_defaults(ks, ct)  # their runs advance together on small data
        for k in ks:
            cell = fitted[k]
            cells[k] = cell
            if callback is not None:
                row = _row(cell, ct, k, criterion, scores)
                callback({**row, "index": len(ks) * len(every) - len(ks) + len(cells) - 1,
                          "total": total})
        if use_neighbours:
            refine(problem, cells, ct)
    if budget is not None or loose is not None:
        for name, value in (("max_iter", budget), ("tol", loose)):
            if value is not None:
                del problem.base[name]
        polish(problem, every, lambda m: scores(m)[0][criterion], budget, loose is not None)
    for ct in types:
        cells = every[ct]
        previous = None
        for k in ks:
            cell = cells[k]
            row = _row(cell, ct, k, criterion, scores)
            if k - 1 in cells and cells[k - 1].model is not None and cell.model is not None:
                prev_ll = previous["log_likelihood"] if previous else None
                ll = row["log_likelihood"]
                ok = prev_ll is None or ll >= prev_ll - _MONOTONE_RTOL * max(1.0, abs(prev_ll))
                row["monotone"] = bool(ok)
                if not ok:
                    row["warnings"].append(
                        f"log-likelihood {ll:.10g} is below {prev_ll:.10g} of {k - 1} component(s): "
                        "not the maximum-likelihood fit at this number of components"
                    )
            previous = row if cell.model is not None else None
            logger.debug("select_model candidate %s", row)
            table.append(row)
            if row["value"] is not None and not row["degenerate"] and math.isfinite(row["value"]) and (
                best_row is None or row["value"] < best_row["value"]
            ):
                best_model, best_row = cell.model, row
    if best_row is None:
        reasons = sorted({r["error"] or "degenerate components" for r in table})
        raise ValueError(
            f"no candidate could be chosen: every one failed or has degenerate components "
            f"({'; '.join(reasons)})"
        )
    best_row["best"] = True
    return best_model, table


def _row(cell, ct, k, criterion, scores) -> dict:
    """The table row of one cell (``scores``: a fitted model's criteria and log-likelihood)."""
    row = {
        "covariance_type": ct, "n_components": k, "criterion": criterion, "value": None,
        "log_likelihood": None, "n_parameters": None, "converged": None,
        "degenerate": None, "best": False, "start": cell.start, "monotone": None,
        "error": cell.error, "warnings": list(cell.warnings), "model": cell.model,
        "bic": None, "aic": None, "icl": None,
    }
    model = cell.model
    if model is not None:
        values, loglik = scores(model)
        row.update(values)
        row.update(
            value=values[criterion], log_likelihood=loglik,
            n_parameters=int(model._n_parameters()),
            converged=bool(model.converged_),
            degenerate=bool(len(model.degenerate_components_)),
        )
    return row


def _criteria(model, X, w, fit_params: dict) -> tuple[dict, float]:
    """BIC, AIC and ICL and the total (weighted) log-likelihood of a fitted candidate.

    One pass over ``X``, chunk by chunk (no (n, K) array); ICL is the BIC plus
    twice the entropy of the hard classification, mclust's definition
    (Biernacki, Celeux & Govaert 2000).
    """
    rows = model._row_scores(X, fit_params)  # log density and log max posterior per row
    scores = rows[:, 0]
    w = np.ones(scores.shape[0]) if w is None else w
    n_eff = float(w.sum())
    loglik = float(w @ scores)
    p = model._n_parameters()
    bic = -2.0 * loglik + p * np.log(n_eff)
    return {"bic": bic, "aic": -2.0 * loglik + 2.0 * p,
            "icl": bic - 2.0 * float(w @ rows[:, 1])}, loglik
