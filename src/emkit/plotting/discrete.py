"""Plots of discrete mixtures: observed shares against the fitted pmf."""

from __future__ import annotations

import numpy as np

from ._common import (
    _DATA_COLOUR,
    _MIXTURE_COLOUR,
    _check_feature,
    _check_X,
    _colour,
    _feature_label,
    _integer_xaxis,
    _matplotlib,
    _new_axes,
    family_of,
)

# ------------------------------------------------------------------------- pmf
def _trials_for(model, x, n_trials):
    """Per-row numbers of trials for a binomial mixture, shape (n_samples,)."""
    if n_trials is None:
        n_trials = getattr(model, "n_trials_", None)
    if n_trials is None:
        n_trials = getattr(model, "n_trials", None)
    if n_trials is None:
        n_trials = int(np.max(x))
    trials = np.asarray(n_trials, dtype=np.float64)
    if trials.ndim == 0:
        trials = np.full(x.shape[0], float(trials))
    trials = trials.reshape(-1)
    if trials.shape[0] != x.shape[0]:
        raise ValueError(
            f"n_trials has {trials.shape[0]} entries, but X has {x.shape[0]} rows"
        )
    return trials.astype(np.int64)


def _component_pmfs(model, family: str, j: int, support: np.ndarray, x, n_trials):
    """Probability of each support value under every component, shape (K, m)."""
    from scipy import stats

    if family == "bernoulli":
        p = np.asarray(model.probs_, dtype=np.float64)[:, j]
        return np.stack([1.0 - p, p], axis=1)
    if family == "poisson":
        rates = np.asarray(model.rates_, dtype=np.float64)[:, j]
        return stats.poisson.pmf(support[None, :], rates[:, None])
    if family == "categorical":
        return np.asarray(model.probs_, dtype=np.float64)[:, j, :]
    if family == "binomial":
        p = np.asarray(model.probs_, dtype=np.float64)[:, j]
        trials = _trials_for(model, x, n_trials)
        values, counts = np.unique(trials, return_counts=True)
        share = counts / counts.sum()
        out = np.zeros((p.shape[0], support.size))
        for n, s in zip(values, share, strict=True):
            out += s * stats.binom.pmf(support[None, :], n, p[:, None])
        return out
    raise ValueError(f"plot_pmf draws discrete families, not {family}; use plot_density_1d")


def plot_pmf(model, X, feature=0, ax=None, n_trials=None, *, feature_names=None):
    """Observed frequencies of one discrete feature against the fitted pmf.

    Bars show the share of rows taking every value; the fitted mixture
    probability mass function is drawn on top, with each component scaled
    by its weight.  With per-row numbers of trials (binomial), the fitted pmf
    is averaged over the rows' trials so it compares with the observed shares.

    Parameters
    ----------
    model : BernoulliMixture, BinomialMixture, PoissonMixture or CategoricalMixture
        A fitted discrete mixture.
    X : array-like of shape (n_samples, n_features)
        Counts, 0/1 values or category codes.
    feature : int, default=0
        Column of ``X`` to draw.
    ax : matplotlib.axes.Axes, optional
    n_trials : int or array-like of shape (n_samples,), optional
        Binomial only: the number of trials (defaults to the model's).
    feature_names : sequence of str, optional
        Column names used for the axis label.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    family = family_of(model)
    if family == "gaussian":
        raise ValueError("plot_pmf draws discrete families; for a Gaussian mixture use plot_density_1d")
    X = _check_X(X)
    j = _check_feature(feature, X.shape[1])
    x = X[:, j]
    if family == "bernoulli":
        top = 1
    elif family == "categorical":
        top = np.asarray(model.probs_).shape[2] - 1
    elif family == "binomial":
        top = int(_trials_for(model, x, n_trials).max())
    else:
        rates = np.asarray(model.rates_, dtype=np.float64)[:, j]
        top = int(max(np.max(x), np.ceil(rates.max() + 4 * np.sqrt(rates.max()))))
    support = np.arange(top + 1)
    pmfs = _component_pmfs(model, family, j, support, X, n_trials)
    weights = np.asarray(model.weights_, dtype=np.float64)
    parts = weights[:, None] * pmfs
    values = np.rint(x).astype(np.int64)
    observed = np.bincount(np.clip(values, 0, top), minlength=top + 1)[: top + 1] / x.size

    _matplotlib()
    ax = _new_axes(ax)
    ax.bar(support, observed, width=0.8, color=_DATA_COLOUR, alpha=0.5,
           label=f"observed share ({x.size} rows)")
    markers = support.size <= 40
    ordered = family in ("binomial", "poisson")  # unordered values get markers, no lines
    for k, part in enumerate(parts):
        ax.plot(support, part, color=_colour(k), ls="--" if ordered else "none", lw=1.4,
                marker=("." if ordered else "s") if markers else None, markersize=6 if ordered else 7,
                label=f"component {k} (weight {weights[k]:.2f})")
    ax.plot(support, parts.sum(axis=0), color=_MIXTURE_COLOUR, lw=2, ls="-" if ordered else "none",
            marker="o" if markers else None, markersize=5 if ordered else 12,
            markerfacecolor=_MIXTURE_COLOUR if ordered else "none", markeredgewidth=2,
            zorder=2 if ordered else 1.5, label="fitted mixture pmf")
    if support.size <= 12:
        ax.set_xticks(support)
    else:
        _integer_xaxis(ax)
    label = _feature_label(feature_names, j)
    what = {"bernoulli": "value (0 or 1)", "categorical": "category", "binomial": "successes",
            "poisson": "count"}[family]
    ax.set_xlabel(f"{label}: {what}")
    ax.set_ylabel("probability / share of rows")
    ax.set_title(f"{label}: observed against fitted {family} mixture ({len(weights)} components)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize="small")
    return ax
