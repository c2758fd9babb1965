"""Plots of continuous (Gaussian) mixtures: 1-D densities and 2-D clusters."""

from __future__ import annotations

import math

import numpy as np

from ._common import (
    _outside_legend,
    _DATA_COLOUR,
    _MIXTURE_COLOUR,
    _check_X,
    _colour,
    _feature_label,
    _matplotlib,
    _display,
    _fitted,
    _new_axes,
    _one_feature,
    _pair,
)

# ----------------------------------------------------------------- 1-D density
def plot_density_1d(model, X, ax=None, *, feature=0, feature_names=None, bins="auto"):
    """Histogram of one feature against the fitted mixture density.

    Draws the data as a histogram on a density scale, the mixture density
    (the feature's marginal for multivariate models) and every component
    scaled by its weight, so the components add up to the mixture.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture of a continuous family.
    X : array-like of shape (n_samples, n_features)
        Data to draw; usually the data the model was fitted on.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    feature : int, default=0
        Column of ``X`` to draw.
    feature_names : sequence of str, optional
        Column names used for the axis label.
    bins : int or str, default="auto"
        Histogram bins, as for :func:`numpy.histogram_bin_edges`.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    family, params, X, j = _one_feature(model, X, feature, "continuous", "plot_density_1d",
                                        "plot_pmf")
    _matplotlib()
    ax = _new_axes(ax)
    x = X[:, j]
    x = x[~np.isnan(x)]  # missing cells (a model that integrates them out) are not drawn
    weights = np.asarray(model.weights_, dtype=np.float64)

    edges = np.histogram_bin_edges(x, bins=bins)
    if isinstance(bins, str):
        n_bins = int(np.clip(edges.size - 1, min(25, max(x.size // 10, 1)), 60))
        if n_bins != edges.size - 1:
            edges = np.histogram_bin_edges(x, bins=n_bins)
    if isinstance(bins, str) and np.all(x == np.rint(x)) and x.max() > x.min():
        # integer data: bins of whole units centred on the integers avoid comb artefacts
        width = max(1.0, np.ceil((x.max() - x.min() + 1) / (edges.size - 1)))
        edges = np.arange(x.min() - 0.5, x.max() + width, width)
    ax.hist(x, bins=edges, density=True, color=_DATA_COLOUR, alpha=0.4,
            edgecolor="white", label=f"data ({x.size} rows)", zorder=1)
    family_lo, family_hi = family.marginal_range(params, j, x, {})
    lo, hi = min(x.min(), family_lo), max(x.max(), family_hi)
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    grid = np.linspace(lo - pad, hi + pad, 600)
    parts = weights[:, None] * family.marginal_density(grid, params, j, {})
    # legend in the order of the components' means on this feature; the numbers (and
    # colours) are the model's, as in the tables
    centres = (parts * grid).sum(axis=1) / np.maximum(parts.sum(axis=1), np.finfo(float).tiny)
    for k in np.argsort(centres, kind="stable"):
        part = parts[k]
        ax.fill_between(grid, part, color=_colour(k), alpha=0.3, lw=0, zorder=2)
        ax.plot(grid, part, color=_colour(k), lw=1.6, zorder=3,
                label=f"component {k} (weight {weights[k]:.2f}, mean {centres[k]:.3g})")
    ax.plot(grid, parts.sum(axis=0), color=_MIXTURE_COLOUR, lw=2.2, ls="--", zorder=4,
            label="mixture density")
    ax.set_xlabel(_feature_label(feature_names, j))
    ax.set_ylabel("density")
    ax.set_title(f"{_feature_label(feature_names, j)}: data and fitted mixture "
                 f"({len(weights)} component{'s' if len(weights) != 1 else ''})")
    ax.set_ylim(bottom=0)
    _outside_legend(ax)
    return ax


# ------------------------------------------------------------------ 2-D clusters
def _ellipse(mean, cov2, n_sd, colour, ls):
    from matplotlib.patches import Ellipse

    vals, vecs = np.linalg.eigh(cov2)
    vals = np.clip(vals, 0.0, None)
    angle = math.degrees(math.atan2(vecs[1, 1], vecs[0, 1]))
    return Ellipse(
        xy=mean, width=2 * n_sd * math.sqrt(vals[1]), height=2 * n_sd * math.sqrt(vals[0]),
        angle=angle, fill=False, edgecolor=colour, lw=2.0 if n_sd == 1 else 1.4, ls=ls,
        zorder=3,
    )


def plot_clusters_2d(model, X, features=(0, 1), ax=None, *, feature_names=None):
    """Scatter of two features coloured by component, with covariance ellipses.

    Every point takes the colour of its most likely component; each
    component's covariance, projected onto the chosen pair of features, is
    drawn as ellipses at 1 and 2 standard deviations around its mean, and the
    means are marked.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture whose family draws ellipses (Gaussian), with at
        least two features.
    X : array-like of shape (n_samples, n_features)
    features : tuple of two int, default=(0, 1)
        The pair of columns to draw (x axis, y axis).
    ax : matplotlib.axes.Axes, optional
    feature_names : sequence of str, optional
        Column names used for the axis labels.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    family, params = _fitted(model, "continuous", "plot_clusters_2d", "plot_pmf")
    shapes = family.ellipses(params)
    if shapes is None:
        raise ValueError(f"plot_clusters_2d needs a family with covariance ellipses; the "
                         f"{family.name} family has none: use plot_density_1d")
    X = _check_X(X)
    fx, fy = _pair(features, X.shape[1], "plot_clusters_2d")
    _matplotlib()
    from matplotlib.lines import Line2D

    ax = _new_axes(ax)
    labels = model.predict(X)
    weights = np.asarray(model.weights_, dtype=np.float64)
    means, covs = shapes
    idx = np.array([fx, fy])
    K = len(weights)
    for k in range(K):
        pts = X[labels == k]
        ax.scatter(pts[:, fx], pts[:, fy], s=16, color=_colour(k), alpha=0.6, lw=0,
                   label=f"component {k}: {len(pts)} rows, weight {weights[k]:.2f}", zorder=2)
    for k in range(K):
        cov2 = covs[k][np.ix_(idx, idx)]
        for n_sd, ls in ((1, "-"), (2, "--")):
            ax.add_patch(_ellipse(means[k, idx], cov2, n_sd, _colour(k), ls))
        ax.scatter(means[k, fx], means[k, fy], marker="X", s=170, color=_colour(k),
                   edgecolor="black", lw=1.2, zorder=4)
    handles, texts = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], color="0.3", lw=2.0, ls="-"),
        Line2D([], [], color="0.3", lw=1.4, ls="--"),
        Line2D([], [], marker="X", color="0.6", markeredgecolor="black", ls="", markersize=11),
    ]
    texts += ["1 sd ellipse", "2 sd ellipse", "component mean"]
    ax.autoscale_view()
    ax.set_xlabel(_feature_label(feature_names, fx))
    ax.set_ylabel(_feature_label(feature_names, fy))
    summary = ", ".join(family.describe(params).summary)
    ax.set_title(f"{K} {_display(family)} component{'s' if K != 1 else ''}"
                 + (f" ({summary})" if summary else ""))
    _outside_legend(ax, handles, texts)
    return ax
