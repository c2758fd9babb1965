"""Plots of fitted mixtures (matplotlib, imported lazily).

Every function takes an optional :class:`matplotlib.axes.Axes` and returns
the Axes it drew on; without one it opens a new figure through pyplot.
matplotlib is imported on the first call only, and when no backend has been
chosen (no ``MPLBACKEND``, no backend in a matplotlibrc, pyplot not yet
imported) the non-interactive ``Agg`` backend is selected, so the functions
work on servers and in scripts that only save files.

:func:`plot_auto` picks the plot that suits the model and the data and saves
it as a PNG; the command line's ``emkit fit --plot`` and ``emkit demo`` use it.

Layout: :mod:`._common` (matplotlib set-up, argument checks, saving),
:mod:`.continuous` (densities and cluster ellipses of Gaussian mixtures),
:mod:`.classification` (uncertainty, 2-D density contours, pairs plot),
:mod:`.heatmap` (component x feature parameters of discrete families),
:mod:`.discrete` (observed against fitted pmf), :mod:`.diagnostics` (EM
history, model-selection criterion overall and per model) and :mod:`.auto` (the plot that suits a
model, saved as a PNG).
"""

from ._common import family_of
from .auto import plot_auto
from .classification import plot_density_2d, plot_pairs, plot_uncertainty, uncertainty
from .continuous import plot_clusters_2d, plot_density_1d
from .diagnostics import competitive_limits, plot_criterion, plot_history, plot_model_criterion
from .discrete import plot_pmf
from .heatmap import plot_heatmap

__all__ = [
    "family_of",
    "competitive_limits",
    "plot_auto",
    "plot_clusters_2d",
    "plot_criterion",
    "plot_density_1d",
    "plot_density_2d",
    "plot_heatmap",
    "plot_history",
    "plot_model_criterion",
    "plot_pairs",
    "plot_pmf",
    "plot_uncertainty",
    "uncertainty",
]
