"""The canonical row order and weighted picks of rows that the starts of EM share.

Rows are drawn with probability proportional to their sample weight by walking
the cumulative weights along a fixed random projection (the canonical order),
so a start does not depend on how the rows are shuffled and a row of weight
``k`` is drawn exactly when ``k`` adjacent copies of it would be.
"""

from __future__ import annotations

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from .draws import sort_key


def _rows_as_float(chunk: Data, shift: np.ndarray) -> np.ndarray:
    return np.asarray(chunk.X, dtype=np.float64) - shift


def _canonical_order(data: Data, backend: NumpyBackend, shift: np.ndarray) -> np.ndarray:
    """Row order along a fixed random projection.

    Weighted draws walk the cumulative weights in this order rather than in
    the input order, so a fit does not depend on how the rows are shuffled,
    and a row of weight ``k`` is drawn exactly when ``k`` adjacent copies of
    it would be.
    """
    v = canonical_direction(data.n_features)
    key = backend.map_concat(lambda ch: sort_key(ch.X, shift, v), data)
    return np.argsort(key, kind="stable")


def canonical_direction(n_features: int) -> np.ndarray:
    """A fixed random direction, shape (n_features,), used to order rows and centres."""
    return np.random.default_rng(20071122).standard_normal(n_features)


def canonical_centres(centres: np.ndarray) -> np.ndarray:
    """Centres sorted along :func:`canonical_direction`.

    Starts whose components come in this order give fits whose components
    come in the same order whatever start wins (and whatever the dtype), so
    results do not depend on which of several equivalent runs was kept.
    """
    return centres[np.argsort(centres @ canonical_direction(centres.shape[1]), kind="stable")]


def _pick_by_weight(mass: np.ndarray, order: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rows drawn with probability proportional to ``mass`` (cumulated in ``order``)."""
    cum = np.cumsum(mass[order])
    pos = np.searchsorted(cum, u * cum[-1], side="right")
    return order[np.minimum(pos, cum.shape[0] - 1)]


def _rows(data: Data, idx: np.ndarray, shift) -> np.ndarray:
    return np.asarray(data.X[np.asarray(idx)], dtype=np.float64) - shift
