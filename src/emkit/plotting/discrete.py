"""Plots of discrete mixtures: observed shares against the fitted pmf."""

from __future__ import annotations

import numpy as np

from ._common import (
    _DATA_COLOUR,
    _MIXTURE_COLOUR,
    _colour,
    _feature_label,
    _integer_xaxis,
    _outside_legend,
    _matplotlib,
    _display,
    _new_axes,
    _one_feature,
)

# ------------------------------------------------------------------------- pmf
def _side_data(model, X, fit_params) -> dict:
    """Per-row side data of the plotted rows (as the model's predict takes it)."""
    if not fit_params:
        family = model._fitted_family()
        if family.side_data is None:
            return {}
    return model._predict_data(X, fit_params).aux


def plot_pmf(model, X, feature=0, ax=None, *, feature_names=None, levels=None, **fit_params):
    """Observed frequencies of one discrete feature against the fitted pmf.

    Bars show the share of rows taking every value; the fitted mixture
    probability mass function is drawn on top, with each component scaled
    by its weight.  With per-row side data (binomial trials), the fitted pmf
    is averaged over the rows so it compares with the observed shares.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture of a discrete family.
    X : array-like of shape (n_samples, n_features)
        Counts, 0/1 values or category codes.
    feature : int, default=0
        Column of ``X`` to draw.
    ax : matplotlib.axes.Axes, optional
    feature_names : sequence of str, optional
        Column names used for the axis label.
    levels : sequence of str, optional
        The labels of the feature's codes ``0, 1, ...`` (a text column read
        by :func:`emkit.io.read_labelled_table`): the axis shows them
        instead of the codes.
    **fit_params
        Per-row side data as ``predict`` takes it (binomial: ``n_trials``,
        which defaults to the model's).

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    family, params, X, j = _one_feature(model, X, feature, "discrete", "plot_pmf",
                                        "plot_density_1d")
    x = X[:, j]
    aux = _side_data(model, X, fit_params)
    x = x[~np.isnan(x)]  # missing cells (a model that integrates them out) are not drawn
    values = np.asarray(family.marginal_support(params, j, x, aux))
    weights = np.asarray(model.weights_, dtype=np.float64)
    parts = weights[:, None] * family.marginal_density(values, params, j, aux)
    # drawn at 0 .. m-1, labelled with the values (categorical codes need not be 0 .. C-1)
    labelled = values.size > 0 and int(values[-1]) != values.size - 1
    support = np.arange(values.size)
    idx = np.minimum(np.searchsorted(values, np.rint(x)), max(values.size - 1, 0))
    hit = values[idx] == np.rint(x) if values.size else np.zeros(x.size, bool)
    observed = np.bincount(idx[hit], minlength=values.size)[: values.size] / x.size

    _matplotlib()
    ax = _new_axes(ax)
    ax.bar(support, observed, width=0.8, color=_DATA_COLOUR, alpha=0.5,
           label=f"observed share ({x.size} rows)")
    markers = support.size <= 40
    own = family.feature_family(j)  # a mixed-type model's block of this feature
    ordered = own.ordered  # unordered values get markers, no lines
    for k, part in enumerate(parts):
        ax.plot(support, part, color=_colour(k), ls="--" if ordered else "none", lw=1.4,
                marker=("." if ordered else "s") if markers else None, markersize=6 if ordered else 7,
                label=f"component {k} (weight {weights[k]:.2f})")
    ax.plot(support, parts.sum(axis=0), color=_MIXTURE_COLOUR, lw=2, ls="-" if ordered else "none",
            marker="o" if markers else None, markersize=5 if ordered else 12,
            markerfacecolor=_MIXTURE_COLOUR if ordered else "none", markeredgewidth=2,
            zorder=2 if ordered else 1.5, label="fitted mixture pmf")
    if levels is not None or labelled:
        # text labels of the codes (levels[code]), or the codes themselves when they are
        # not 0 .. m-1; at most about 12 ticks
        step = 1 if levels is not None else max(1, -(-support.size // 12))
        names = ([str(levels[int(v)]) if 0 <= v < len(levels) else f"{v:g}" for v in values]
                 if levels is not None else [f"{v:g}" for v in values.astype(float)])
        ax.set_xticks(support[::step])
        ax.set_xticklabels(names[::step], rotation=45 if support.size > 6 and levels is not None else 0,
                           ha="right" if support.size > 6 and levels is not None else "center")
    elif support.size <= 12:
        ax.set_xticks(support)
    else:
        _integer_xaxis(ax)
    label = _feature_label(feature_names, j)
    ax.set_xlabel(label if levels is not None else f"{label}: {own.value_label}")
    ax.set_ylabel("probability / share of rows")
    ax.set_title(f"{label}: observed against fitted {_display(own)} mixture ({len(weights)} components)")
    ax.set_ylim(bottom=0)
    _outside_legend(ax)
    return ax
