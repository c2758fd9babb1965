"""Classification plots of mixtures whose family draws ellipses (Gaussian):
uncertainty, 2-D density contours and a pairs plot of every feature.

These follow mclust's ``plot.Mclust`` (Scrucca, Fop, Murphy & Raftery, *The R
Journal* 8(1):289, 2016): the uncertainty of a row is ``1 - max_k tau_ik``,
its largest responsibility taken from one; the density of a pair of features
is the mixture of the components' marginals on that pair, which for a Gaussian
component is the normal with the mean and covariance sub-blocks of the pair.
"""

from __future__ import annotations

import numpy as np

from ._common import (
    _outside_legend,
    _check_feature,
    _check_X,
    _colour,
    _display,
    _feature_label,
    _fitted,
    _matplotlib,
    _new_axes,
    _pair,
)

#: marker area (points^2) of a certain row and of the most uncertain possible row
_SIZE_CERTAIN, _SIZE_UNCERTAIN = 4.0, 120.0


def _shapes(model, what: str):
    family, params = _fitted(model, "continuous", what, "plot_pmf")
    shapes = family.ellipses(params)
    if shapes is None:
        raise ValueError(f"{what} needs a family with covariance ellipses; the {family.name} "
                         "family has none: use plot_density_1d")
    return family, params, shapes


def _pair_setup(model, X, features, ax, what: str):
    """The checks and axes of a plot of two features: ``(family, means, covs, X, (fx, fy), ax)``."""
    family, _, (means, covs) = _shapes(model, what)
    X = _check_X(X)
    pair = _pair(features, X.shape[1], what)
    _matplotlib()
    return family, means, covs, X, pair, _new_axes(ax)


def uncertainty(model, X) -> np.ndarray:
    """Classification uncertainty of every row: ``1 - max_k responsibility``.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture.
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    uncertainty : ndarray of shape (n_samples,)
        In ``[0, 1 - 1/K]``.
    """
    return 1.0 - model.predict_proba(X).max(axis=1)


def uncertainty_sizes(u: np.ndarray, n_components: int) -> np.ndarray:
    """Marker areas of :func:`plot_uncertainty`: linear in the uncertainty ``u``, from
    ``_SIZE_CERTAIN`` at 0 to ``_SIZE_UNCERTAIN`` at the largest possible ``1 - 1/K``."""
    top = 1.0 - 1.0 / max(n_components, 2)
    return _SIZE_CERTAIN + (_SIZE_UNCERTAIN - _SIZE_CERTAIN) * np.clip(u / top, 0.0, 1.0)


def plot_uncertainty(model, X, features=(0, 1), ax=None, *, feature_names=None):
    """Rows of two features coloured by component, sized and shaded by their uncertainty.

    A row's marker area grows linearly with ``1 - max_k responsibility``
    (:func:`uncertainty_sizes`) and its opacity with it, so the rows that are
    hard to classify stand out, as in mclust's uncertainty plot.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture whose family draws ellipses, with two or more features.
    X : array-like of shape (n_samples, n_features)
    features : tuple of two int, default=(0, 1)
    ax : matplotlib.axes.Axes, optional
    feature_names : sequence of str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
        One scatter collection per component, in component order.
    """
    family, means, covs, X, (fx, fy), ax = _pair_setup(model, X, features, ax, "plot_uncertainty")
    resp = model.predict_proba(X)
    labels = resp.argmax(axis=1)
    u = 1.0 - resp.max(axis=1)
    K = resp.shape[1]
    sizes = uncertainty_sizes(u, K)
    top = 1.0 - 1.0 / max(K, 2)
    from matplotlib.colors import to_rgba

    for k in range(K):
        rows = labels == k
        colours = np.array([to_rgba(_colour(k))] * int(rows.sum())).reshape(-1, 4)
        colours[:, 3] = 0.25 + 0.75 * np.clip(u[rows] / top, 0.0, 1.0)
        ax.scatter(X[rows, fx], X[rows, fy], s=sizes[rows], c=colours, lw=0, zorder=2,
                   label=f"component {k}: {int(rows.sum())} rows")
    ax.scatter(means[:, fx], means[:, fy], marker="X", s=150, c=[_colour(k) for k in range(K)],
               edgecolor="black", lw=1.2, zorder=4, label="component means")
    ax.set_xlabel(_feature_label(feature_names, fx))
    ax.set_ylabel(_feature_label(feature_names, fy))
    worst = int(np.argmax(u))
    ax.set_title(f"Classification uncertainty (larger, darker = less certain; "
                 f"largest {u[worst]:.2f})")
    _outside_legend(ax)
    return ax


def pair_density(grid_x, grid_y, weights, means, covs, fx: int, fy: int) -> np.ndarray:
    """Mixture density of features ``(fx, fy)`` on a grid.

    Parameters
    ----------
    grid_x, grid_y : ndarray of shape (m, p)
        Coordinates (as from :func:`numpy.meshgrid`).
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covs : ndarray of shape (n_components, n_features, n_features)
    fx, fy : int

    Returns
    -------
    density : ndarray of shape (m, p)
        ``sum_k w_k N((x, y); mean_k[pair], cov_k[pair, pair])``.
    """
    idx = np.array([fx, fy])
    mu = means[:, idx]                                   # (K, 2)
    S = covs[:, idx[:, None], idx[None, :]]              # (K, 2, 2)
    P = np.linalg.inv(S)
    det = np.linalg.det(S)
    pts = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)  # (n, 2)
    diff = pts[:, None, :] - mu[None, :, :]              # (n, K, 2)
    maha = np.einsum("nki,kij,nkj->nk", diff, P, diff)
    dens = np.exp(-0.5 * maha) / (2.0 * np.pi * np.sqrt(det))[None, :]
    return (dens @ weights).reshape(grid_x.shape)


def plot_density_2d(model, X, features=(0, 1), ax=None, *, feature_names=None, levels=10,
                    resolution=200):
    """Contours of the mixture density of two features over the rows.

    Parameters
    ----------
    model, X, features, ax, feature_names
        As for :func:`plot_uncertainty`.
    levels : int or sequence of float, default=10
        Contour levels, as for :meth:`matplotlib.axes.Axes.contour`.
    resolution : int, default=200
        Grid points per axis.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    family, means, covs, X, (fx, fy), ax = _pair_setup(model, X, features, ax, "plot_density_2d")
    weights = np.asarray(model.weights_, dtype=np.float64)
    axes = []
    for j in (fx, fy):
        lo = min(np.nanmin(X[:, j]), (means[:, j] - 3 * np.sqrt(covs[:, j, j])).min())
        hi = max(np.nanmax(X[:, j]), (means[:, j] + 3 * np.sqrt(covs[:, j, j])).max())
        pad = 0.05 * (hi - lo if hi > lo else 1.0)
        axes.append(np.linspace(lo - pad, hi + pad, int(resolution)))
    gx, gy = np.meshgrid(*axes)
    Z = pair_density(gx, gy, weights, means, covs, fx, fy)
    ax.scatter(X[:, fx], X[:, fy], s=8, color="0.55", alpha=0.5, lw=0, zorder=1,
               label=f"data ({X.shape[0]} rows)")
    cs = ax.contour(gx, gy, Z, levels=levels, cmap="viridis", linewidths=1.2, zorder=2)
    from matplotlib.lines import Line2D

    handles, texts = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="C0", lw=1.2))
    texts.append(f"density contours ({len(cs.levels)} levels)")
    ax.set_xlabel(_feature_label(feature_names, fx))
    ax.set_ylabel(_feature_label(feature_names, fy))
    K = len(weights)
    ax.set_title(f"Mixture density of {K} {_display(family)} component{'s' if K != 1 else ''}")
    _outside_legend(ax, handles, texts)
    return ax


def plot_pairs(model, X, fig=None, *, feature_names=None, features=None, max_features=6):
    """Every pair of features: classification and ellipses below the diagonal, the
    1-D densities on it, one shared legend outside the panels.

    Parameters
    ----------
    model : emkit estimator
        A fitted mixture whose family draws ellipses.
    X : array-like of shape (n_samples, n_features)
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (a new pyplot figure when omitted).
    feature_names : sequence of str, optional
    features : sequence of int, optional
        Columns to show (default: the first ``max_features``).
    max_features : int, default=6

    Returns
    -------
    fig : matplotlib.figure.Figure
        Its title names the features shown; ``fig.axes`` are the panels in
        row-major order (``d * d`` of them).
    """
    from .continuous import _ellipse, plot_density_1d

    family, params, (means, covs) = _shapes(model, "plot_pairs")
    X = _check_X(X)
    d_all = X.shape[1]
    cols = list(range(min(d_all, max_features))) if features is None else \
        [_check_feature(f, d_all) for f in features]
    if len(cols) < 2:
        raise ValueError("plot_pairs needs at least two features; use plot_density_1d")
    _matplotlib()
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(2.6 * len(cols) + 1.5, 2.6 * len(cols)))
    d = len(cols)
    labels = model.predict(X)
    K = len(model.weights_)
    grid = fig.subplots(d, d, squeeze=False)
    for r, jr in enumerate(cols):
        for c, jc in enumerate(cols):
            ax = grid[r, c]
            if r == c:
                plot_density_1d(model, X, ax=ax, feature=jr, feature_names=feature_names)
                ax.set_title("")
                ax.set_ylabel("density" if c == 0 else "")
            elif r > c:
                for k in range(K):
                    rows = labels == k
                    ax.scatter(X[rows, jc], X[rows, jr], s=6, color=_colour(k), alpha=0.6,
                               lw=0, zorder=2)
                idx = np.array([jc, jr])
                for k in range(K):
                    ax.add_patch(_ellipse(means[k, idx], covs[k][np.ix_(idx, idx)], 1,
                                          _colour(k), "-"))
                ax.autoscale_view()
            else:
                ax.axis("off")
                continue
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_xlabel(_feature_label(feature_names, jc) if r == d - 1 else "")
            if r != c:
                ax.set_ylabel(_feature_label(feature_names, jr) if c == 0 else "")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_colour(k), marker="o", lw=2,
                      label=f"component {k} (weight {model.weights_[k]:.2f})") for k in range(K)]
    handles.append(Line2D([], [], color="black", lw=2.2, ls="--", label="mixture density"))
    fig.legend(handles=handles, loc="upper right", fontsize="small", frameon=False,
               bbox_to_anchor=(1.0, 1.0 - 0.5 / d))
    names = ", ".join(_feature_label(feature_names, j) for j in cols)
    more = f" (first {d} of {d_all})" if d < d_all else ""
    fig.suptitle(f"{K} {_display(family)} component{'s' if K != 1 else ''}: {names}{more}")
    return fig

