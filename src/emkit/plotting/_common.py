"""Helpers shared by the plots: matplotlib set-up, argument checks, saving PNGs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .._atomic import atomic_write

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
    family : str
        The name the family is registered under (see :mod:`emkit.registry`).
    """
    from ..registry import family_of as registered

    return registered(model).name


def _fitted(model, kind: str, what: str, other: str):
    """The fitted family and parameters of ``model``, checking the family's data kind."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    family = model._fitted_family()
    if family.data_kind != kind:
        raise ValueError(f"{what} draws {kind} families; for {type(model).__name__} "
                         f"({family.data_kind}) use {other}")
    return family, model._fitted_params()


def _one_feature(model, X, feature, kind: str, what: str, other: str):
    """Fitted family and parameters, ``X`` as a 2-D array and the checked column index.

    The data kind checked is that of the feature's own family
    (:meth:`~emkit.families.Family.feature_family`: a mixed-type model's block).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    family, params = model._fitted_family(), model._fitted_params()
    X = _check_X(X)
    j = _check_feature(feature, X.shape[1])
    own = family.feature_family(j)
    if own.data_kind != kind:
        where = "" if own is family else f" (feature {j} is {own.name})"
        raise ValueError(f"{what} draws {kind} families; for {type(model).__name__}{where} "
                         f"({own.data_kind}) use {other}")
    return family, params, X, j


def _display(family) -> str:
    return family.display_name or family.name


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


def _pair(features, d: int, what: str) -> tuple[int, int]:
    if d < 2:
        raise ValueError(f"{what} needs at least two features; use plot_density_1d")
    try:
        fx, fy = features
    except (TypeError, ValueError):
        raise ValueError(f"features must be a pair of column indices, got {features!r}") from None
    fx, fy = _check_feature(fx, d), _check_feature(fy, d)
    if fx == fy:
        raise ValueError(f"features must name two different columns, got {features!r}")
    return fx, fy


def _feature_label(feature_names, j: int) -> str:
    if feature_names is not None and j < len(feature_names):
        return str(feature_names[j])
    return f"feature {j}"


def _outside_legend(ax, handles=None, labels=None):
    """The legend outside the axes, to the right of them, so it never covers data (a
    figure's ``tight_layout`` makes room for it)."""
    args = () if handles is None else (handles, labels)
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize="small", frameon=False)


def _integer_xaxis(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save_png(fig, path, dpi) -> Path:
    """Save ``fig`` as a PNG at ``path`` atomically, creating missing folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi))
    return path
