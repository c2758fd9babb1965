"""A component x feature heatmap of a discrete family's parameter (Bernoulli: P(x = 1))."""

from __future__ import annotations

import numpy as np

from ._common import _display, _feature_label, _matplotlib, _new_axes

#: most cells that get their value written in them
_ANNOTATE_MAX = 300


def plot_heatmap(model, ax=None, *, feature_names=None, levels=None):
    """Heatmap of the family's component x feature parameter, each cell labelled.

    Rows are components (numbered as in the tables, with their weights),
    columns are features; the colour scale spans the parameter's range
    (probabilities: 0 to 1) so that two models compare by eye.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture whose family has a heatmap
        (:meth:`~emkit.families.Family.heatmap`; Bernoulli).
    ax : matplotlib.axes.Axes, optional
    feature_names : sequence of str, optional
    levels : dict of int to sequence of str, optional
        The labels of text features' codes by column index: a feature with
        two labels is shown as ``name = label of 1`` (the cell is the
        probability of that label).

    Returns
    -------
    ax : matplotlib.axes.Axes
        ``ax.images[0].get_array()`` holds the drawn values, shape
        (n_components, n_features).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    family = model._fitted_family()
    params = model._fitted_params()
    shown = family.heatmap(params)
    if shown is None:
        raise ValueError(f"the {family.name} family has no component x feature heatmap; "
                         "use plot_pmf or plot_density_1d")
    label, values, (vmin, vmax) = shown
    _matplotlib()
    ax = _new_axes(ax)
    K, d = values.shape
    weights = np.asarray(model.weights_, dtype=np.float64)
    image = ax.imshow(values, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    if K * d <= _ANNOTATE_MAX:
        mid = 0.5 * (vmin + vmax)
        for k in range(K):
            for j in range(d):
                ax.text(j, k, f"{values[k, j]:.2f}", ha="center", va="center", fontsize="small",
                        color="black" if values[k, j] > mid else "white")
    ax.set_xticks(np.arange(d))
    ticks = [_feature_label(feature_names, j) for j in range(d)]
    for j, labels in (levels or {}).items():
        if len(labels) == 2:
            ticks[j] = f"{ticks[j]} = {labels[1]}"
    ax.set_xticklabels(ticks,
                       rotation=45 if d > 6 else 0, ha="right" if d > 6 else "center")
    ax.set_yticks(np.arange(K))
    ax.set_yticklabels([f"component {k} ({weights[k]:.2f})" for k in range(K)])
    ax.set_xlabel("feature")
    ax.set_ylabel("component (weight)")
    ax.set_title(f"{label} in each of {K} {_display(family)} components")
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax
