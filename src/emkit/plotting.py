"""Plots of fitted mixtures (matplotlib, imported lazily).

Every function takes an optional :class:`matplotlib.axes.Axes` and returns
the Axes it drew on; without one it opens a new figure through pyplot.
matplotlib is imported on the first call only, and when no backend has been
chosen (no ``MPLBACKEND``, no backend in a matplotlibrc, pyplot not yet
imported) the non-interactive ``Agg`` backend is selected, so the functions
work on servers and in scripts that only save files.

:func:`plot_auto` picks the plot that suits the model and the data and saves
it as a PNG; the command line's ``emkit fit --plot`` and ``emkit demo`` use it.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "plot_auto",
    "plot_clusters_2d",
    "plot_criterion",
    "plot_density_1d",
    "plot_history",
    "plot_pmf",
]

_FAMILIES = ("gaussian", "bernoulli", "binomial", "poisson", "categorical")
_DATA_COLOUR = "0.55"
_MIXTURE_COLOUR = "black"


# --------------------------------------------------------------------- helpers
def _matplotlib():
    """Import matplotlib, choosing ``Agg`` when no backend was asked for."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "emkit.plotting needs matplotlib; install it with: pip install 'emkit[plot]'"
        ) from None
    chosen = None
    getter = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if getter is not None:
        chosen = getter()
    if chosen is None and not os.environ.get("MPLBACKEND") and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    return matplotlib


def _new_axes(ax):
    """Return ``ax``, or the Axes of a new pyplot figure when ``ax`` is None."""
    if ax is not None:
        return ax
    _matplotlib()
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(8, 6))
    return ax


def _colour(k: int) -> str:
    return f"C{k % 10}"


def family_of(model) -> str:
    """Name of the component family of a fitted emkit estimator.

    Parameters
    ----------
    model : emkit estimator

    Returns
    -------
    family : {"gaussian", "bernoulli", "binomial", "poisson", "categorical"}
    """
    name = type(model).__name__.lower()
    for fam in _FAMILIES:
        if name.startswith(fam):
            return fam
    if hasattr(model, "means_") and hasattr(model, "covariances_"):
        return "gaussian"
    if hasattr(model, "rates_"):
        return "poisson"
    probs = getattr(model, "probs_", None)
    if probs is not None:
        return "categorical" if np.ndim(probs) == 3 else "bernoulli"
    raise ValueError(f"cannot tell the component family of {type(model).__name__}")


def _check_X(X, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {X.shape}")
    return X


def _check_feature(feature, n_features: int) -> int:
    if isinstance(feature, bool) or not isinstance(feature, (int, np.integer)):
        raise ValueError(f"feature must be an integer column index, got {feature!r}")
    if not -n_features <= feature < n_features:
        raise ValueError(f"feature {feature} is out of range for data with {n_features} column(s)")
    return int(feature) % n_features


def _feature_label(feature_names, j: int) -> str:
    if feature_names is not None and j < len(feature_names):
        return str(feature_names[j])
    return f"feature {j}"


def _full_covariances(model) -> np.ndarray:
    """Covariances of a fitted Gaussian mixture as an array of shape (K, d, d)."""
    cov = np.asarray(model.covariances_, dtype=np.float64)
    K, d = np.asarray(model.means_).shape
    ct = getattr(model, "covariance_type", "full")
    if ct == "full":
        return cov
    if ct == "tied":
        return np.broadcast_to(cov, (K, d, d)).copy()
    if ct == "diag":
        return np.stack([np.diag(c) for c in cov])
    if ct == "spherical":
        return cov[:, None, None] * np.eye(d)[None]
    raise ValueError(f"unknown covariance_type {ct!r}")


def _require_gaussian(model, what: str) -> None:
    if family_of(model) != "gaussian":
        raise ValueError(
            f"{what} needs a Gaussian mixture; for {type(model).__name__} use plot_pmf"
        )


def _normal_pdf(x, mean, sd):
    z = (x - mean) / sd
    return np.exp(-0.5 * z * z) / (sd * math.sqrt(2.0 * math.pi))


def _integer_xaxis(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ----------------------------------------------------------------- 1-D density
def plot_density_1d(model, X, ax=None, *, feature=0, feature_names=None, bins="auto"):
    """Histogram of one feature against the fitted mixture density.

    Draws the data as a histogram on a density scale, the mixture density
    (the feature's marginal for multivariate models) and every component
    scaled by its weight, so the components add up to the mixture.

    Parameters
    ----------
    model : GaussianMixture
        A fitted Gaussian mixture.
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
    _require_gaussian(model, "plot_density_1d")
    X = _check_X(X)
    j = _check_feature(feature, X.shape[1])
    _matplotlib()
    ax = _new_axes(ax)
    x = X[:, j]
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)[:, j]
    sds = np.sqrt(_full_covariances(model)[:, j, j])

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
    lo = min(x.min(), (means - 3 * sds).min())
    hi = max(x.max(), (means + 3 * sds).max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    grid = np.linspace(lo - pad, hi + pad, 600)
    parts = np.stack([w * _normal_pdf(grid, m, s) for w, m, s in zip(weights, means, sds, strict=True)])
    for k, part in enumerate(parts):
        ax.fill_between(grid, part, color=_colour(k), alpha=0.3, lw=0, zorder=2)
        ax.plot(grid, part, color=_colour(k), lw=1.6, zorder=3,
                label=f"component {k} (weight {weights[k]:.2f})")
    ax.plot(grid, parts.sum(axis=0), color=_MIXTURE_COLOUR, lw=2.2, ls="--", zorder=4,
            label="mixture density")
    ax.set_xlabel(_feature_label(feature_names, j))
    ax.set_ylabel("density")
    ax.set_title(f"{_feature_label(feature_names, j)}: data and fitted mixture "
                 f"({len(weights)} component{'s' if len(weights) != 1 else ''})")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize="small")
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
    model : GaussianMixture
        A fitted Gaussian mixture with at least two features.
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
    _require_gaussian(model, "plot_clusters_2d")
    X = _check_X(X)
    d = X.shape[1]
    if d < 2:
        raise ValueError("plot_clusters_2d needs at least two features; use plot_density_1d")
    try:
        fx, fy = features
    except (TypeError, ValueError):
        raise ValueError(f"features must be a pair of column indices, got {features!r}") from None
    fx, fy = _check_feature(fx, d), _check_feature(fy, d)
    if fx == fy:
        raise ValueError(f"features must name two different columns, got {features!r}")
    _matplotlib()
    from matplotlib.lines import Line2D

    ax = _new_axes(ax)
    labels = model.predict(X)
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)
    covs = _full_covariances(model)
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
    ax.set_title(f"{K} Gaussian component{'s' if K != 1 else ''}"
                 f" ({getattr(model, 'covariance_type', 'full')} covariance)")
    ax.legend(handles, texts, loc="best", fontsize="small", framealpha=0.85)
    return ax


# --------------------------------------------------------------------- history
def plot_history(model, ax=None):
    """Mean log-likelihood per row after every EM iteration.

    Parameters
    ----------
    model : emkit estimator
        A fitted estimator with ``history_``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if not hasattr(model, "history_"):
        raise ValueError(f"{type(model).__name__} is not fitted: it has no history_")
    history = np.asarray(model.history_, dtype=np.float64).reshape(-1)
    _matplotlib()
    ax = _new_axes(ax)
    it = np.arange(1, history.size + 1)
    n = history.size
    # with SQUAREM, history_ holds accepted iterates while n_iter_ counts EM steps
    n_steps = int(getattr(model, "n_iter_", n))
    accelerated = n_steps != n
    steps = f"{n_steps} EM step{'s' if n_steps != 1 else ''}"
    if getattr(model, "interrupted_", False):
        status = f"interrupted after {steps}"
    elif getattr(model, "converged_", False):
        status = f"converged after {steps}"
    else:
        status = f"not converged after {steps}"
    ax.plot(it, history, color="C0", lw=2, marker="o" if n <= 60 else None, markersize=4,
            label="mean log-likelihood per row")
    if n:
        ax.axhline(history[-1], color="0.5", lw=1, ls=":",
                   label=f"final value {history[-1]:.6g}")
    else:
        ax.text(0.5, 0.5, "no EM iterations were run", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    ax.ticklabel_format(axis="y", useOffset=False)
    _integer_xaxis(ax)
    ax.set_xlabel("accepted SQUAREM iterate" if accelerated else "EM iteration")
    ax.set_ylabel("mean log-likelihood per row")
    ax.set_title(f"EM progress of {type(model).__name__}: {status}")
    ax.legend(loc="lower right", fontsize="small")
    return ax


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


# ------------------------------------------------------------------- criterion
def plot_criterion(table, ax=None):
    """Information criterion over the number of components.

    One line per covariance type; candidates whose fit had degenerate
    components are crossed out (they are never chosen) and the chosen model
    is starred.

    Parameters
    ----------
    table : list of dict
        The table returned by :func:`emkit.select_model`: rows with keys
        ``"covariance_type"``, ``"n_components"``, ``"criterion"``,
        ``"value"``, ``"degenerate"``, ``"best"`` (and ``"error"``).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    rows = list(table)
    if not rows:
        raise ValueError("the model-selection table is empty")
    crit = str(rows[0].get("criterion") or "criterion").upper()
    _matplotlib()
    ax = _new_axes(ax)

    def value(row):
        v = row.get("value")
        if v is None or row.get("error"):
            return np.nan
        v = float(v)
        return v if np.isfinite(v) else np.nan

    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get("covariance_type"), []).append(row)
    degenerate_drawn = False
    for i, (ct, group) in enumerate(groups.items()):
        group = sorted(group, key=lambda r: r["n_components"])
        ks = np.array([r["n_components"] for r in group])
        vs = np.array([value(r) for r in group])
        ax.plot(ks, vs, color=_colour(i), marker="o", lw=1.8, markersize=5,
                label=str(ct) if ct is not None else "model")
        bad = np.array([bool(r.get("degenerate")) for r in group]) & np.isfinite(vs)
        if bad.any():
            ax.scatter(ks[bad], vs[bad], marker="x", s=80, color="red", lw=2, zorder=4,
                       label=None if degenerate_drawn else "degenerate fit (not eligible)")
            degenerate_drawn = True
    best = [r for r in rows if r.get("best")]
    if best:
        b = best[0]
        ax.scatter([b["n_components"]], [value(b)], marker="*", s=360, color="gold",
                   edgecolor="black", lw=1.2, zorder=5,
                   label=(f"best: {b.get('covariance_type') or 'model'}, "
                          f"{b['n_components']} components ({crit} {value(b):.1f})"))
    _integer_xaxis(ax)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_xlabel("number of components")
    ax.set_ylabel(f"{crit} (lower is better)")
    ax.set_title(f"Model selection by {crit}")
    ax.legend(title="covariance type" if len(groups) > 1 else None, loc="best", fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


# ------------------------------------------------------------------------ auto
def _atomic_savefig(fig, path: Path, dpi) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=dpi)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def plot_auto(model, X, path, *, feature_names=None, n_trials=None, figsize=(8.0, 6.0), dpi=100):
    """Draw the plot that suits the model and the data and save it as a PNG.

    A Gaussian mixture of one feature gets :func:`plot_density_1d`, of two or
    more features :func:`plot_clusters_2d` of the first two; a discrete
    mixture gets :func:`plot_pmf` of every feature (up to nine, in a grid).
    The file is written atomically: a failure leaves no partial file.

    Parameters
    ----------
    model : emkit estimator
        A fitted estimator.
    X : array-like of shape (n_samples, n_features)
    path : str or path-like
        Where to write the PNG.
    feature_names : sequence of str, optional
    n_trials : int or array-like, optional
        Binomial only, as for :func:`plot_pmf`.
    figsize : tuple of float, default=(8.0, 6.0)
        Size in inches of a single plot (a grid of discrete features is
        larger).
    dpi : int, default=100

    Returns
    -------
    path : pathlib.Path
    """
    X = _check_X(X)
    family = family_of(model)
    _matplotlib()
    from matplotlib.figure import Figure

    path = Path(path)
    if family == "gaussian":
        fig = Figure(figsize=figsize, dpi=dpi)
        ax = fig.add_subplot()
        if X.shape[1] == 1:
            plot_density_1d(model, X, ax=ax, feature_names=feature_names)
        else:
            plot_clusters_2d(model, X, ax=ax, feature_names=feature_names)
    else:
        d = min(X.shape[1], 9)
        ncols = 2 if d == 4 else min(d, 3)
        nrows = math.ceil(d / ncols)
        size = figsize if d == 1 else (figsize[0] * ncols * 0.75, figsize[1] * nrows * 0.75)
        fig = Figure(figsize=size, dpi=dpi)
        for j in range(d):
            ax = fig.add_subplot(nrows, ncols, j + 1)
            plot_pmf(model, X, feature=j, ax=ax, n_trials=n_trials, feature_names=feature_names)
            if d > 1:
                ax.set_title(_feature_label(feature_names, j))
    fig.tight_layout()
    _atomic_savefig(fig, path, dpi)
    return path
