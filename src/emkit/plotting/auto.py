"""The plot that suits a fitted model and its data, saved as a PNG."""

from __future__ import annotations

import math

from ._common import _check_X, _feature_label, _matplotlib, save_png
import numpy as np

from .classification import plot_pairs
from .continuous import plot_clusters_2d, plot_density_1d
from .discrete import plot_pmf
from .heatmap import plot_heatmap

def plot_auto(model, X, path, *, feature_names=None, levels=None, figsize=(8.0, 6.0), dpi=100,
              **fit_params):
    """Draw the plot that suits the model and the data and save it as a PNG.

    A continuous mixture whose family draws ellipses (Gaussian) gets
    :func:`plot_clusters_2d` with two features and :func:`plot_pairs` (up to
    six) with more; a family with a component x feature heatmap (Bernoulli)
    gets :func:`plot_heatmap`; otherwise every feature (up to nine, in a
    grid with one shared legend above the panels) gets
    :func:`plot_density_1d` (continuous families) or :func:`plot_pmf`
    (discrete families), each feature by its own family in a mixed-type
    model.
    The file is written atomically: a failure leaves no partial file.

    Parameters
    ----------
    model : emkit estimator
        A fitted estimator.
    X : array-like of shape (n_samples, n_features)
    path : str or path-like
        Where to write the PNG.
    feature_names : sequence of str, optional
    levels : dict of str to sequence of str, optional
        The labels of text features by feature name (their codes' labels):
        the plots show labels, not codes.
    figsize : tuple of float, default=(8.0, 6.0)
        Size in inches of a single plot, to which 2 inches are added at its
        right for the legend (a grid of features is larger).
    dpi : int, default=100
    **fit_params
        Per-row side data, as for :func:`plot_pmf` (binomial: ``n_trials``).

    Returns
    -------
    path : pathlib.Path
    """
    X = _check_X(X)
    by_index = {}
    for name, labels in (levels or {}).items():
        if feature_names is None or name not in list(feature_names):
            raise ValueError(f"levels names the feature {name!r}, which is not in feature_names")
        by_index[list(feature_names).index(name)] = list(labels)
    family = model._fitted_family()
    _matplotlib()
    from matplotlib.figure import Figure

    params = model._fitted_params()
    ellipses = family.data_kind == "continuous" and family.ellipses(params) is not None
    beside = (figsize[0] + 2.0, figsize[1])  # a single plot: room for the legend at its right
    if ellipses and X.shape[1] == 2:
        fig = Figure(figsize=beside, dpi=dpi)
        plot_clusters_2d(model, X, ax=fig.add_subplot(), feature_names=feature_names)
    elif ellipses and X.shape[1] > 2:
        d = min(X.shape[1], 6)
        fig = Figure(figsize=(2.6 * d + 1.5, 2.6 * d), dpi=dpi)
        plot_pairs(model, X, fig=fig, feature_names=feature_names)
    elif family.heatmap(params) is not None:
        K, d = np.shape(family.heatmap(params)[1])
        fig = Figure(figsize=(max(figsize[0], 1.2 + 0.7 * d), max(figsize[1], 1.5 + 0.5 * K)),
                     dpi=dpi)
        plot_heatmap(model, ax=fig.add_subplot(), feature_names=feature_names, levels=by_index)
    else:
        def draw(j, ax):  # by the feature's own family (a mixed-type model's block)
            if family.feature_family(j).data_kind == "continuous":
                plot_density_1d(model, X, ax=ax, feature=j, feature_names=feature_names)
            else:
                plot_pmf(model, X, feature=j, ax=ax, feature_names=feature_names,
                         levels=by_index.get(j), **fit_params)
        d = min(X.shape[1], 9)
        ncols = 2 if d == 4 else min(d, 3)
        nrows = math.ceil(d / ncols)
        size = beside if d == 1 else (figsize[0] * ncols * 0.75, figsize[1] * nrows * 0.75)
        fig = Figure(figsize=size, dpi=dpi)
        for j in range(d):
            ax = fig.add_subplot(nrows, ncols, j + 1)
            draw(j, ax)
            if d > 1:
                ax.set_title(_feature_label(feature_names, j))
                ax.get_legend().remove()
        if d > 1:  # one legend for every panel, outside them
            handles, labels = fig.axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 4),
                       fontsize="small", frameon=False, bbox_to_anchor=(0.5, 1.0))
            fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / size[1] * math.ceil(len(labels) / 4)))
            return save_png(fig, path, dpi)
    fig.tight_layout()
    return save_png(fig, path, dpi)
