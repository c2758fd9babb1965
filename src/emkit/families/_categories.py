"""Categories of the categorical family: the distinct codes of the data, and one-hot rows.

The set-up pass of :class:`~emkit.families.categorical.CategoricalFamily`
reduces every chunk to its sorted distinct codes (:class:`Distinct`, whose
``+`` is the union, held to at most :data:`MAX_CATEGORIES` + 1 values), and
the E-step encodes a chunk's category indices with :func:`one_hot`.
"""

from __future__ import annotations

import numpy as np

#: most categories (distinct codes over all features) a fit may have: more are refused at
#: fit with an error that says to recode, and the set-up pass never holds more than this
#: many distinct values (plus one)
MAX_CATEGORIES = 100_000


class Distinct:
    """Sorted distinct codes of some rows; ``+`` is the union (so chunk scans reduce to all codes).

    At most ``MAX_CATEGORIES + 1`` values are kept: beyond that only the fact
    that the limit is passed matters, so memory stays bounded.
    """

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = values[: MAX_CATEGORIES + 1]

    @classmethod
    def of(cls, X) -> Distinct:
        v = np.unique(np.asarray(X, dtype=np.float64))
        return cls(v[np.isfinite(v)])

    @property
    def too_many(self) -> bool:
        return self.values.size > MAX_CATEGORIES

    def __add__(self, other):
        return Distinct(np.union1d(self.values, other.values))


def short(levels: np.ndarray, at_most: int = 8) -> str:
    """``[0, 1, 5, ...]`` of the first few levels."""
    head = ", ".join(f"{v:g}" for v in np.asarray(levels[:at_most], dtype=np.float64))
    return f"[{head}{', ...' if levels.size > at_most else ''}]"


def one_hot(X: np.ndarray, n_categories: int, observed: np.ndarray | None = None) -> np.ndarray:
    """One-hot encoding of integer codes, feature by feature.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Integer codes in ``0 .. n_categories - 1`` (any numeric dtype).
    n_categories : int
    observed : ndarray of shape (n_samples, n_features), optional
        0/1 mask of observed cells: a missing cell's entry is stored as 0,
        so it counts nowhere (its code in ``X`` must still be valid).

    Returns
    -------
    H : scipy.sparse.csr_matrix of shape (n_samples, n_features * n_categories)
        ``H[i, j * n_categories + X[i, j]] = 1``, zeros elsewhere.  Sparse:
        ``n_samples * n_features`` stored ones, so memory does not grow with
        the number of categories.
    """
    from scipy.sparse import csr_matrix

    X = np.asarray(X)
    n, d = X.shape
    C = int(n_categories)
    cols = (X.astype(np.int64) + C * np.arange(d, dtype=np.int64)[None, :]).ravel()
    indptr = np.arange(0, n * d + 1, d, dtype=np.int64)
    data = np.ones(n * d) if observed is None else np.asarray(observed, dtype=np.float64).ravel()
    return csr_matrix((data, cols, indptr), shape=(n, d * C))


__all__ = ["MAX_CATEGORIES", "Distinct", "one_hot", "short"]
