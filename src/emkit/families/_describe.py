"""What a family shows of its fitted parameters: :class:`Description`.

A family's :meth:`~emkit.families.Family.describe` returns one of these, and
the command line's tables and JSON, the model summaries and the plots read it
instead of knowing families by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Column:
    """One table column of a family's parameters.

    Parameters
    ----------
    label : str
        Header; in a wide table ``"{label} {feature}"``.  A per-component
        column may refer to feature names as ``{0}``, ``{1}``, ...
    values : ndarray of shape (n_components, n_features), or (n_components,) or None
        Per feature and component, or per component only (shown in wide
        tables only); ``None`` shows ``"..."`` (values left out).
    digits : int, default=4
        Significant digits shown.
    """

    label: str
    values: np.ndarray | None
    digits: int = 4

    @property
    def per_component(self) -> bool:
        return self.values is not None and np.ndim(self.values) == 1


@dataclass(frozen=True)
class Description:
    """A family's fitted parameters as the layers above show them.

    Parameters
    ----------
    fields : dict
        JSON-ready entries of a model description (for example
        ``{"covariance_type": "full", "means": ..., "covariances": ...}``).
    summary : tuple of str
        Short phrases for a one-line model summary (``"full covariance"``).
    columns : tuple of Column
        The table columns.
    wide_max : int
        Up to this many features the table has one row per component and a
        column per feature and :class:`Column`; beyond, one row per
        component and feature.
    """

    fields: dict
    summary: tuple = ()
    columns: tuple = field(default_factory=tuple)
    wide_max: int = 6



class DescriptionHooks:
    """What the layers above show of a family: tables, JSON and plots.

    Part of :class:`~emkit.families.Family` (its base class); kept apart from
    the EM and set-up hooks.  Uses the family's ``name``, ``param_names`` and
    ``param_labels``.
    """

    # ------------------------------------------------------------ description
    def settings(self) -> dict:
        """Configuration shown with the parameters (for example the covariance type)."""
        return {}

    def describe(self, params: Mapping) -> Description:
        """What tables, JSON and plots show of fitted parameters.

        The default shows :meth:`settings` and every parameter of
        :attr:`param_names`, one table column per parameter of shape
        (n_components, n_features) labelled by :attr:`param_labels`.

        Parameters
        ----------
        params : dict
            Fitted parameters.

        Returns
        -------
        description : Description
        """
        fields = {p: params[p] for p in self.param_names}
        fields.update(self.settings())
        columns = tuple(
            Column(self.param_labels.get(p, p), np.asarray(params[p], dtype=np.float64))
            for p in self.param_names if np.ndim(params[p]) == 2
        )
        return Description(fields=fields, columns=columns)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params: Mapping, feature: int, aux: Mapping) -> np.ndarray:
        """Density (continuous) or probability (discrete) of one feature's values.

        Parameters
        ----------
        x : ndarray of shape (m,)
            Points (continuous) or support values (discrete).
        params : dict
        feature : int
            Column index.
        aux : dict of ndarray
            Per-row side data of the plotted rows (a discrete family averages
            over them, as binomial trials).

        Returns
        -------
        density : ndarray of shape (n_components, m)
            Every component's own (unweighted) marginal.
        """
        raise NotImplementedError(f"the {self.name} family has no marginal density")

    def marginal_range(self, params: Mapping, feature: int, x, aux: Mapping) -> tuple:
        """Interval of a feature that holds nearly all of every component's mass.

        Returns
        -------
        lo, hi : float
            For a discrete family ``hi`` is the largest support value to draw
            (an int, at least the largest of ``x``).
        """
        raise NotImplementedError(f"the {self.name} family has no marginal range")

    def feature_family(self, feature: int):
        """The family that models column ``feature``: this one (a mixed-type family: its block's)."""
        return self

    def marginal_support(self, params: Mapping, feature: int, x, aux: Mapping) -> np.ndarray:
        """The values of a discrete feature to draw, increasing, shape (m,).

        ``0 .. hi`` of :meth:`marginal_range` by default; a family whose
        values are labels (categorical codes) gives just those.
        """
        return np.arange(int(self.marginal_range(params, feature, x, aux)[1]) + 1)

    def heatmap(self, params: Mapping):
        """A component x feature table of one parameter to draw as a heatmap, or None.

        Returns
        -------
        label : str
            What a cell is ("P(x = 1)").
        values : ndarray of shape (n_components, n_features)
        limits : tuple of float
            The parameter's range (the colour scale's ends).
        """
        return None

    def ellipses(self, params: Mapping):
        """Centres and covariance matrices to draw as ellipses, or None.

        Returns
        -------
        means : ndarray of shape (n_components, n_features)
        covariances : ndarray of shape (n_components, n_features, n_features)
        """
        return None


__all__ = ["Column", "Description", "DescriptionHooks"]
