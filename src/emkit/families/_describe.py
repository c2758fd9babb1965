"""What a family shows of its fitted parameters: :class:`Description`.

A family's :meth:`~emkit.families.Family.describe` returns one of these, and
the command line's tables and JSON, the model summaries and the plots read it
instead of knowing families by name.
"""

from __future__ import annotations

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


__all__ = ["Column", "Description"]
