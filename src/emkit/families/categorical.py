"""Categorical components: independent integer codes per feature.

The categories are the distinct codes observed in ``X`` (over all features),
sorted: ``levels`` (``levels_`` of the estimator), at most
:data:`MAX_CATEGORIES` of them.  Category ``c`` is the code ``levels[c]``, so
a stray code of ``1e9`` is one more category, not a billion; with
``n_categories`` given the categories are the codes ``0 .. n_categories - 1``,
observed or not.  Component ``k`` gives a row the probability
``prod_j P[k, j, c(x_j)]``.  A chunk is one-hot
encoded once into an (n_samples, n_features * n_categories) matrix ``H``;
then the E-step is ``H @ log(P).reshape(K, -1).T`` and the statistics are
``resp.T @ H`` (weighted counts of every category of every feature), with
the one-hot matrix shared between the two through the chunk cache.  The
M-step normalises the counts over the category axis (latent class analysis:
Goodman, "Exploratory latent structure analysis using both identifiable and
unidentifiable models", Biometrika 61(2):215-231, 1974).

A category probability of exactly 0 is a valid parameter; its logarithm is
floored at :data:`emkit.families._numerics.LOG_FLOOR` so every score stays
finite (see that module for the exact rule).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._base import Family
from ._categories import MAX_CATEGORIES, Distinct, one_hot, short
from ._cells import CellMixin
from ._describe import Column, Description
from .._validation import check_choice, check_int_param
from ._numerics import (
    CLIP,
    MAX_COUNT,
    check_counts,
    check_init_array,
    check_unit_interval,
    floored_log,
    raise_bad_cell,
    ratio_or_pooled,
)


#: what a category code unseen at fit means when scoring
UNKNOWN = ("error", "missing")


@dataclass(frozen=True, eq=False)
class CategoricalFamily(CellMixin, Family):
    """Products of independent categorical distributions.

    Parameters
    ----------
    n_categories : int or None
        Number of categories ``C`` shared by all features; ``None`` until
        :meth:`prepare` counts the distinct codes seen.
    fitted : bool
        Whether ``n_categories`` comes from fitted parameters (for messages).
    unknown : {"error", "missing"}, default="error"
        What a code that is not a category of the fit means when scoring: an
        error naming the cell, or, only with ``missing="marginalize"``, a
        missing cell (its factor dropped).
    levels : ndarray of shape (n_categories,) or None
        The code of every category, increasing (int64); ``None`` until
        :meth:`prepare` (or :meth:`for_params`) sets it.

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features, n_categories),
    every ``probs[k, j]`` summing to 1, and ``levels`` (n_categories,), which
    EM carries unchanged (it is stored with the fit, not a free parameter).
    """

    n_categories: int | None = None
    fitted: bool = False
    unknown: str = "error"
    levels: np.ndarray | None = None

    name = "categorical"
    param_names = ("probs",)
    estimator_name = "CategoricalMixture"
    settings_params = ("n_categories", "unknown")
    init_names = ("probs_init",)
    init_aliases = {"probabilities": "probs"}
    data_kind = "discrete"
    cli_params = {"categories": "n_categories", "unknown": "unknown"}
    value_label = "category"
    fill_from_data = True  # a stand-in code of 0 would be a category of its own
    ordered = False
    column_kinds = ("two labels", "labels")
    init_softening = 0.1

    # ------------------------------------------------------------------ set-up
    def check_settings(self):
        check_choice(self.unknown, "unknown", UNKNOWN)
        if self.n_categories is not None:
            check_int_param(self.n_categories, "n_categories", 1)
            if self.n_categories > MAX_CATEGORIES:
                raise ValueError(
                    f"n_categories={self.n_categories} is above the limit of {MAX_CATEGORIES:,} "
                    "categories per feature; recode the values to 0 .. C-1 with C the number of "
                    "distinct values"
                )

    # ------------------------------------------------------------- categories
    @property
    def missing_fill(self) -> float:
        """The first category's code: a missing cell's stand-in must be a category."""
        return 0.0 if self.levels is None or self.levels.size == 0 else float(self.levels[0])

    def category_codes(self) -> np.ndarray:
        """The code of every category, shape (n_categories,): ``levels``, else ``0 .. C-1``."""
        if self.levels is not None:
            return np.asarray(self.levels)
        return np.arange(int(self.n_categories), dtype=np.int64)

    def _contiguous(self) -> bool:
        """Whether the categories are the codes ``0 .. C-1`` (a code is its own index)."""
        lv = self.levels
        return lv is None or lv.size == 0 or int(lv[-1]) == lv.size - 1

    def _known(self, X) -> np.ndarray:
        """Mask of the cells of ``X`` that hold a category's code."""
        X = np.asarray(X)
        if self._contiguous():
            return X < int(self.n_categories)
        lv = self.levels
        idx = np.minimum(np.searchsorted(lv, X), lv.size - 1)
        return lv[idx] == X

    def index_of(self, X) -> np.ndarray:
        """Category index of every cell (codes that are no category map somewhere valid).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Codes (checked by :meth:`check_support`) or fill values.

        Returns
        -------
        ndarray of the same shape
            ``X`` itself when the categories are ``0 .. C-1``, else the
            position of each code in ``levels``.
        """
        if self._contiguous():
            return X
        lv = self.levels
        return np.minimum(np.searchsorted(lv, np.asarray(X)), lv.size - 1)

    def check_support(self, X, aux, start=0):
        check_counts(X, "category codes", row_offset=start)
        C = self.n_categories
        if C is None:
            return
        hint = ("; a category seen only at predict time can be a missing cell with "
                "missing='marginalize' and unknown='missing'") if self.fitted else ""

        def message(cell, where, r, c):
            if self._contiguous():
                source = "the fitted n_categories_" if self.fitted else "n_categories"
                return (f"category code {cell} {where} is not below {source} = {C}; codes must "
                        f"lie in 0 .. {C - 1}{hint}")
            return (f"category code {cell} {where} is not one of the {C} categories the model "
                    f"was fitted on (levels_ = {short(self.levels)}){hint}")

        raise_bad_cell(~self._known(X), X, message, start)

    def check_missing_policy(self, marginalize: bool) -> None:
        if self.unknown == "missing" and not marginalize:
            raise ValueError("unknown='missing' treats an unseen category as a missing cell, which "
                             "needs missing='marginalize'; set both, or leave unknown='error'")

    def unknown_as_missing(self, X):
        """``X`` with codes that are no category as NaN when ``unknown="missing"``."""
        C = self.n_categories
        if self.unknown != "missing" or C is None:
            return X
        X = np.asarray(X)
        with np.errstate(invalid="ignore"):
            unseen = ~self._known(X) & ~np.isnan(X)
        if not unseen.any():
            return X
        return np.where(unseen, np.nan, X.astype(np.float64))

    def scan(self, chunk):
        """The distinct codes of the chunk (its ``+`` over chunks is the union)."""
        return (Distinct.of(chunk.X),)

    def configure(self, totals, data, init):
        """The categories: ``0 .. n_categories - 1`` as set, else the distinct codes seen.

        A warm start keeps the fitted ``levels``; ``probs_init`` over more
        categories than codes were seen takes its categories as the codes
        ``0 .. C-1`` (as ``n_categories=C`` would).
        """
        previous = init.get("probs")
        seen = totals[0]
        if self.n_categories is not None:
            levels = np.arange(int(self.n_categories), dtype=np.int64)
        elif seen.too_many:
            raise ValueError(
                f"X holds more than {MAX_CATEGORIES:,} distinct category codes (the limit; "
                f"the first are {short(seen.values)}); a categorical feature has a few "
                "categories: check that these columns are categorical, or merge rare codes"
            )
        elif init.get("levels") is not None and previous is not None:  # warm start
            levels = np.asarray(init["levels"], dtype=np.int64)
            new = np.setdiff1d(seen.values, levels)
            if new.size:
                raise ValueError(
                    f"warm_start: category code {new[0]:g} is not one of the fitted model's "
                    f"{levels.size} categories (levels_ = {short(levels)}); refit with "
                    "warm_start=False"
                )
        else:
            levels = seen.values.astype(np.int64)
            p = init.get("probs_init")
            if p is not None and np.ndim(p) == 3 and np.shape(p)[2] != levels.size:
                C = int(np.shape(p)[2])
                if levels.size and levels[-1] >= C:
                    raise ValueError(
                        f"probs_init has {C} categories, but X holds {levels.size} distinct "
                        f"codes {short(levels)} (its categories, in increasing order), one "
                        f"of them not below {C}; give probs_init over those categories, or "
                        f"set n_categories"
                    )
                levels = np.arange(C, dtype=np.int64)
        C = int(levels.size)
        if previous is not None and np.shape(previous)[2] != C:
            raise ValueError(
                f"warm_start: the fitted model has {np.shape(previous)[2]} categories but "
                f"n_categories={C} now; refit with warm_start=False"
            )
        return replace(self, n_categories=C, fitted=False, levels=levels)

    def check_init(self, values, n_components, n_features):
        if "probs_init" not in values:
            return {}
        shape = (n_components, n_features, self.n_categories)
        p = check_init_array(values["probs_init"], shape, "probs_init", 0.0, 1.0,
                             "hold probabilities in [0, 1]")
        sums = p.sum(axis=2)
        bad = np.abs(sums - 1.0) > 1e-6
        if bad.any():
            k, j = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), sums.shape)
            raise ValueError(f"probs_init[{k}, {j}] must sum to 1 over the categories, but sums "
                             f"to {sums[k, j]:.10g}")
        return {"probs": p / sums[:, :, None], "levels": self.category_codes()}

    def for_params(self, params):
        C = int(np.shape(params["probs"])[2])
        levels = params.get("levels")
        levels = (np.arange(C, dtype=np.int64) if levels is None
                  else np.asarray(levels, dtype=np.float64).astype(np.int64))
        return replace(self, n_categories=C, fitted=True, levels=levels)

    def derived(self, params):
        return {"n_categories_": int(np.shape(params["probs"])[2])}

    # ------------------------------------------------------------------ E-step
    def log_prob_cached(self, X, params, aux):
        """:meth:`Family.log_prob <emkit.families.Family.log_prob>` of integer codes ``X``
        (n_samples, n_features) under ``probs`` (n_components, n_features, n_categories),
        and as the cache the chunk's one-hot encoding, shape (n_samples, n_features *
        n_categories); ``aux`` unused."""
        probs = np.asarray(params["probs"], dtype=np.float64)
        K = probs.shape[0]
        H = one_hot(self.index_of(X), self.n_categories)
        return np.asarray(H @ floored_log(probs).reshape(K, -1).T), H

    def suff_stats(self, X, resp, aux, cache=None):
        """``counts``: weighted category counts, shape (K, n_features, n_categories)."""
        H = one_hot(self.index_of(X), self.n_categories) if cache is None else cache
        K = resp.shape[1]
        return {"counts": np.asarray((H.T @ resp).T).reshape(K, -1, self.n_categories)}

    def _cells_log_prob(self, X0, O, params, aux):
        probs = np.asarray(params["probs"], dtype=np.float64)
        H = one_hot(self.index_of(X0), self.n_categories, O)
        return np.asarray(H @ floored_log(probs).reshape(probs.shape[0], -1).T)

    def _cells_stats(self, X0, O, resp, aux):
        H = one_hot(self.index_of(X0), self.n_categories, O)
        return {"counts": np.asarray((H.T @ resp).T).reshape(resp.shape[1], -1, self.n_categories)}

    def param_shapes(self, n_components, n_features):
        C = int(self.n_categories)
        return {"probs": (n_components, n_features, C), "levels": (C,)}

    def check_params(self, params):
        probs = np.asarray(params["probs"])
        check_unit_interval(probs, "probs")
        if params.get("levels") is not None:
            lv = np.asarray(params["levels"], dtype=np.float64)
            ok = (lv.shape == probs.shape[2:] and np.all(np.isfinite(lv)) and np.all(lv >= 0)
                  and np.all(lv == np.floor(lv)) and np.all(lv <= MAX_COUNT)
                  and np.all(np.diff(lv) > 0))
            if not ok:
                raise ValueError(f"levels must be {probs.shape[2]} increasing non-negative "
                                 "integer codes, one per category")
        sums = probs.sum(axis=2)
        bad = np.flatnonzero((np.abs(sums - 1.0) > 1e-6).ravel())
        if bad.size:
            k, j = np.unravel_index(int(bad[0]), sums.shape)
            raise ValueError(f"probs[{k}, {j}] sums to {sums[k, j]:.10g} over the categories, not 1")

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        counts = stats["counts"]
        probs = ratio_or_pooled(counts, counts.sum(axis=2, keepdims=True))
        total = probs.sum(axis=2, keepdims=True)
        # a feature never observed at all (zero total weight) gets uniform probabilities
        probs = np.where(total > 0, probs / np.where(total > 0, total, 1.0), 1.0 / self.n_categories)
        return {"probs": probs, "levels": self.category_codes()}

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        if "probs" in fixed:
            return 0
        K, d, C = np.asarray(params["probs"]).shape
        return int(K * d * (C - 1))

    def sample(self, params, labels, rng, aux):
        """Draw codes by inverse CDF; int64 array of shape (len(labels), n_features)."""
        cdf = np.cumsum(np.asarray(params["probs"])[labels], axis=2)  # (n, d, C)
        u = rng.uniform(size=cdf.shape[:2] + (1,)) * cdf[:, :, -1:]
        codes = np.minimum((u >= cdf).sum(axis=2), self.n_categories - 1)
        return self.category_codes()[codes].astype(np.int64)

    # ------------------------------------------------------------ description
    def describe(self, params):
        """Category probabilities per feature (the first ten categories), headed by their codes."""
        probs = np.asarray(params["probs"], dtype=np.float64)
        C = probs.shape[2]
        levels = self.for_params(params).category_codes()
        shown = min(C, 10)
        columns = [Column(f"P(={levels[c]})", probs[:, :, c], 3) for c in range(shown)]
        if C > shown:
            columns.append(Column("...", None))
        return Description(fields={"probs": probs, "n_categories": int(C), "levels": levels},
                           columns=tuple(columns), wide_max=0)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        probs = np.asarray(params["probs"], dtype=np.float64)[:, feature, :]
        fam = self.for_params(params)
        x = np.asarray(x, dtype=np.float64)
        inside = fam._known(x) & (x >= 0)
        return np.where(inside[None, :], probs[:, fam.index_of(np.where(inside, x, 0.0)).astype(np.int64)],
                        0.0)

    def marginal_range(self, params, feature, x, aux):
        levels = self.for_params(params).category_codes()
        return int(levels[0]), int(levels[-1])

    def marginal_support(self, params, feature, x, aux):
        """The categories' codes, shape (n_categories,)."""
        return self.for_params(params).category_codes()

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        """Centred log-ratios over the category axis (probabilities clipped at 1e-12)."""
        lp = np.log(np.maximum(np.asarray(params["probs"], dtype=np.float64), CLIP))
        return {"probs_logratio": lp - lp.mean(axis=2, keepdims=True)}

    def from_unconstrained(self, theta, params, fixed):
        t = np.asarray(theta["probs_logratio"], dtype=np.float64)
        e = np.exp(t - t.max(axis=2, keepdims=True))
        return {"probs": e / e.sum(axis=2, keepdims=True)}


__all__ = ["MAX_CATEGORIES", "CategoricalFamily", "one_hot"]
