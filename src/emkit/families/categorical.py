"""Categorical components: independent integer codes per feature.

Every feature holds a code in ``0 .. n_categories - 1``.  Component ``k``
gives a row the probability ``prod_j P[k, j, x_j]``.  A chunk is one-hot
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
from ._cells import CellMixin
from ._describe import Column, Description
from .._validation import check_choice, check_int_param
from ._numerics import (
    CLIP,
    check_counts,
    check_init_array,
    check_unit_interval,
    first_bad_cell,
    floored_log,
    ratio_or_pooled,
)


#: what a category code unseen at fit means when scoring
UNKNOWN = ("error", "missing")


class _Max:
    """A number whose ``+`` is the maximum (so chunk scans reduce to the largest code)."""

    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value

    def __add__(self, other):
        return _Max(max(self.value, other.value))


#: most categories a feature may have: codes above it are refused at fit with a clear
#: error (a stray code of 1e9 would otherwise ask for parameters of that size)
MAX_CATEGORIES = 100_000


def one_hot(X: np.ndarray, n_categories: int, observed: np.ndarray | None = None) -> np.ndarray:
    """One-hot encoding of integer codes, feature by feature.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Integer codes in ``0 .. n_categories - 1`` (any numeric dtype).
    n_categories : int
    observed : ndarray of shape (n_samples, n_features), optional
        0/1 mask of observed cells: a missing cell's entry is stored as 0,
        so it counts nowhere (its code in ``X`` must still be valid).

    Returns
    -------
    H : scipy.sparse.csr_matrix of shape (n_samples, n_features * n_categories)
        ``H[i, j * n_categories + X[i, j]] = 1``, zeros elsewhere.  Sparse:
        ``n_samples * n_features`` stored ones, so memory does not grow with
        the number of categories.
    """
    from scipy.sparse import csr_matrix

    X = np.asarray(X)
    n, d = X.shape
    C = int(n_categories)
    cols = (X.astype(np.int64) + C * np.arange(d, dtype=np.int64)[None, :]).ravel()
    indptr = np.arange(0, n * d + 1, d, dtype=np.int64)
    data = np.ones(n * d) if observed is None else np.asarray(observed, dtype=np.float64).ravel()
    return csr_matrix((data, cols, indptr), shape=(n, d * C))


@dataclass(frozen=True, eq=False)
class CategoricalFamily(CellMixin, Family):
    """Products of independent categorical distributions.

    Parameters
    ----------
    n_categories : int or None
        Number of categories ``C`` shared by all features; ``None`` until
        :meth:`prepare` takes the largest code seen plus one.
    fitted : bool
        Whether ``n_categories`` comes from fitted parameters (for messages).
    unknown : {"error", "missing"}, default="error"
        What a code at or above ``n_categories`` (a category the fit never
        saw) means when scoring: an error naming the cell, or, only with
        ``missing="marginalize"``, a missing cell (its factor dropped).

    Notes
    -----
    Parameters: ``probs`` of shape (n_components, n_features, n_categories);
    every ``probs[k, j]`` sums to 1.
    """

    n_categories: int | None = None
    fitted: bool = False
    unknown: str = "error"

    name = "categorical"
    param_names = ("probs",)
    estimator_name = "CategoricalMixture"
    settings_params = ("n_categories", "unknown")
    init_names = ("probs_init",)
    init_aliases = {"probabilities": "probs"}
    data_kind = "discrete"
    cli_params = {"categories": "n_categories", "unknown": "unknown"}
    value_label = "category"
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

    def check_support(self, X, aux, start=0):
        check_counts(X, "category codes (0 .. n_categories - 1)", row_offset=start)
        C = self.n_categories
        if C is None:
            return
        cell = first_bad_cell(X >= C)
        if cell is not None:
            r, c = cell
            source = "the fitted n_categories_" if self.fitted else "n_categories"
            hint = ("; a category seen only at predict time can be a missing cell with "
                    "missing='marginalize' and unknown='missing'") if self.fitted else ""
            raise ValueError(
                f"category code X[{r + start}, {c}] = {X[r, c]:g} (row {r + start}, column {c}) "
                f"is not below {source} = {C}; codes must lie in 0 .. {C - 1}{hint}"
            )

    def check_missing_policy(self, marginalize: bool) -> None:
        if self.unknown == "missing" and not marginalize:
            raise ValueError("unknown='missing' treats an unseen category as a missing cell, which "
                             "needs missing='marginalize'; set both, or leave unknown='error'")

    def unknown_as_missing(self, X):
        """``X`` with codes at or above ``n_categories`` as NaN when ``unknown="missing"``."""
        C = self.n_categories
        if self.unknown != "missing" or C is None:
            return X
        X = np.asarray(X)
        unseen = X >= C
        if not unseen.any():
            return X
        return np.where(unseen, np.nan, X.astype(np.float64))

    def scan(self, chunk):
        """The largest code of the chunk (its ``+`` over chunks is the maximum)."""
        return (_Max(float(np.max(chunk.X)) if chunk.X.size else 0.0),)

    def configure(self, totals, data, init):
        """``n_categories``: as set, else the largest code + 1, widened by initial values."""
        previous = init.get("probs")
        if self.n_categories is not None:
            C = int(self.n_categories)
        else:
            top = totals[0].value
            if top >= MAX_CATEGORIES:
                raise ValueError(
                    f"the largest category code is {top:g}, so there would be {top + 1:g} "
                    f"categories, above the limit of {MAX_CATEGORIES:,}; codes must be 0 .. C-1 "
                    "with C the number of distinct values: recode them, for example with "
                    "numpy.unique(column, return_inverse=True)"
                )
            C = int(top) + 1
            for p in (init.get("probs_init"), previous):
                if p is not None and np.ndim(p) == 3:
                    C = max(C, np.shape(p)[2])
        if previous is not None and np.shape(previous)[2] != C:
            raise ValueError(
                f"warm_start: the fitted model has {np.shape(previous)[2]} categories but "
                f"n_categories={C} now; refit with warm_start=False"
            )
        return replace(self, n_categories=C, fitted=False)

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
        return {"probs": p / sums[:, :, None]}

    def for_params(self, params):
        return replace(self, n_categories=int(np.shape(params["probs"])[2]), fitted=True)

    def derived(self, params):
        return {"n_categories_": int(np.shape(params["probs"])[2])}

    # ------------------------------------------------------------------ E-step
    def log_prob_cached(self, X, params, aux):
        """Log-probability of every row under every component.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Integer codes.
        params : dict
            ``probs`` of shape (n_components, n_features, n_categories).
        aux : dict
            Unused.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
        cache : ndarray of shape (n_samples, n_features * n_categories)
            The one-hot encoding of the chunk.
        """
        probs = np.asarray(params["probs"], dtype=np.float64)
        K = probs.shape[0]
        H = one_hot(X, self.n_categories)
        return np.asarray(H @ floored_log(probs).reshape(K, -1).T), H

    def suff_stats(self, X, resp, aux, cache=None):
        """``counts``: weighted category counts, shape (K, n_features, n_categories)."""
        H = one_hot(X, self.n_categories) if cache is None else cache
        K = resp.shape[1]
        return {"counts": np.asarray((H.T @ resp).T).reshape(K, -1, self.n_categories)}

    def _cells_log_prob(self, X0, O, params, aux):
        probs = np.asarray(params["probs"], dtype=np.float64)
        H = one_hot(X0, self.n_categories, O)
        return np.asarray(H @ floored_log(probs).reshape(probs.shape[0], -1).T)

    def _cells_stats(self, X0, O, resp, aux):
        H = one_hot(X0, self.n_categories, O)
        return {"counts": np.asarray((H.T @ resp).T).reshape(resp.shape[1], -1, self.n_categories)}

    def param_shapes(self, n_components, n_features):
        return {"probs": (n_components, n_features, int(self.n_categories))}

    def check_params(self, params):
        probs = np.asarray(params["probs"])
        check_unit_interval(probs, "probs")
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
        return {"probs": probs}

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
        codes = (u >= cdf).sum(axis=2)
        return np.minimum(codes, self.n_categories - 1).astype(np.int64)

    # ------------------------------------------------------------ description
    def describe(self, params):
        """Category probabilities per feature (the first ten categories)."""
        probs = np.asarray(params["probs"], dtype=np.float64)
        C = probs.shape[2]
        shown = min(C, 10)
        columns = [Column(f"P(={c})", probs[:, :, c], 3) for c in range(shown)]
        if C > shown:
            columns.append(Column("...", None))
        return Description(fields={"probs": probs, "n_categories": int(C)},
                           columns=tuple(columns), wide_max=0)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params, feature, aux):
        probs = np.asarray(params["probs"], dtype=np.float64)[:, feature, :]
        x = np.asarray(x, dtype=np.int64)
        inside = (x >= 0) & (x < probs.shape[1])
        return np.where(inside[None, :], probs[:, np.clip(x, 0, probs.shape[1] - 1)], 0.0)

    def marginal_range(self, params, feature, x, aux):
        return 0, int(np.shape(params["probs"])[2] - 1)

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
