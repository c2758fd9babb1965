"""Blocks of columns of a mixed-type family: prefixed names, column views, missing cells.

Helpers of :class:`~emkit.families.mixed.MixedFamily` (parameters, statistics
and side data of block ``b`` live under ``"b{b}_{name}"``) and the start's
standardised coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends.dask_backend import is_dask_array


def block_prefix(b: int) -> str:
    """Key prefix of block ``b``'s parameters, statistics and side data."""
    return f"b{b}_"


def block_view(mapping, b: int, extra=()) -> dict:
    """Block ``b``'s entries of ``mapping`` without their prefix, plus the keys ``extra``."""
    p = block_prefix(b)
    out = {k[len(p):]: v for k, v in mapping.items() if k.startswith(p)}
    for key in extra:
        if key in mapping:
            out[key] = mapping[key]
    return out


def prefixed(mapping, b: int) -> dict:
    """``mapping`` with block ``b``'s prefix on every key."""
    p = block_prefix(b)
    return {p + k: v for k, v in mapping.items()}


def _columns(X, cols: np.ndarray):
    """The block's columns of a chunk: a view when they are contiguous."""
    if cols.size and np.all(np.diff(cols) == 1):
        return X[:, int(cols[0]):int(cols[-1]) + 1]
    return X[:, cols]


def fill_missing(Xb, whole_rows_only: bool = False, fill: float = 0.0):
    """A block's cells with missing rows filled by ``fill``, and the observed-row mask.

    Parameters
    ----------
    Xb : ndarray of shape (n_samples, n_block_columns)
    whole_rows_only : bool
        Fill (and mask) only the rows whose cells are all missing, leaving
        NaN in partly missing rows (for a family that integrates out cells).
    fill : float
        The value put in the filled cells (inside the family's support).

    Returns
    -------
    Xb : ndarray of shape (n_samples, n_block_columns)
        ``Xb`` itself when no cell is missing.
    observed : ndarray of shape (n_samples,) of bool, or None
        None when every row is observed.
    """
    if Xb.dtype.kind not in "fc":
        return Xb, None
    nan = np.isnan(Xb)
    missing = nan.all(axis=1) if whole_rows_only else nan.any(axis=1)
    if not missing.any():
        return Xb, None
    Xb = np.array(Xb)
    Xb[missing] = fill
    return Xb, ~missing


@dataclass(frozen=True, eq=False)
class StandardisedRows:
    """Columns centred and scaled to unit variance, missing cells at the centre (0).

    The coordinates the k-means and random-row starts of a mixed model
    cluster in, so that no column dominates by its unit; a picklable
    row-wise map (see :meth:`emkit.families.Family.start_transform`).

    Parameters
    ----------
    centre, scale : ndarray of shape (n_features,)
        Weighted mean and standard deviation of each column's observed cells.
    """

    centre: np.ndarray
    scale: np.ndarray

    def __call__(self, X) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.centre) / self.scale
        Z[np.isnan(Z)] = 0.0
        return Z


def _observed_rows(data, backend, cols, cells: bool):
    """Rows that observe the block (any cell if ``cells``, else all), or None for every row."""
    def one_chunk(chunk):
        Xb = _columns(np.asarray(chunk.X), cols)
        if Xb.dtype.kind not in "fc":
            return np.ones(Xb.shape[0], dtype=bool)
        nan = np.isnan(Xb)
        return ~(nan.all(axis=1) if cells else nan.any(axis=1))

    observed = backend.map_concat(one_chunk, data)
    return None if observed.all() else observed


def _prepared_block(Xb, cells: bool, fill: float, stand_in):
    """A block's columns as its family's set-up sees them, and the rows it is set up on.

    Rows missing the whole block (any cell, for a family that does not
    integrate out cells) are filled with ``fill`` and left out; a
    cell-integrating family's partly missing rows get ``stand_in`` (the
    column means or the fill value) in their missing cells.  A dask block
    stays lazy (only the (n_samples,) mask is computed).

    Returns
    -------
    Xb : ndarray or dask array of shape (n_samples, n_block_columns)
    observed : ndarray of shape (n_samples,) of bool, or None
    """
    if Xb.dtype.kind not in "fc":
        return Xb, None
    if is_dask_array(Xb):
        import dask.array as da

        nan = da.isnan(Xb)
        missing = np.asarray((nan.all(axis=1) if cells else nan.any(axis=1)).compute())
        Xb = da.where(nan, np.broadcast_to(np.asarray(stand_in if cells else fill, dtype=float),
                                           (Xb.shape[1],)), Xb)
        return Xb, (None if not missing.any() else ~missing)
    Xb, observed = fill_missing(Xb, whole_rows_only=cells, fill=fill)
    if cells and np.isnan(Xb).any():
        Xb = np.where(np.isnan(Xb), stand_in, Xb)
    return Xb, observed


class _BlockRows:
    """A block's columns of a large in-memory or memory-mapped ``X``, prepared chunk by chunk.

    Slicing rows (what a backend's chunks do) reads those rows of the block's
    columns and fills their missing cells as :func:`_prepared_block` does,
    so a block's set-up never holds more than a chunk of it (a block's
    ``X[:, cols]`` would read all of its columns of a memory-mapped file).
    """

    def __init__(self, X, cols, cells: bool, fill: float, stand_in):
        self.X, self.cols = X, cols
        self.cells, self.fill, self.stand_in = cells, fill, stand_in
        self.shape = (X.shape[0], int(cols.size))
        self.ndim = 2
        self.size = self.shape[0] * self.shape[1]
        self.dtype = np.dtype(np.float64) if X.dtype.kind in "fc" else X.dtype

    def __len__(self):
        return self.shape[0]

    def _prepared(self, rows):
        return _prepared_block(_columns(np.asarray(rows), self.cols), self.cells, self.fill,
                               self.stand_in)[0]

    def __getitem__(self, idx):
        if isinstance(idx, tuple):
            return np.asarray(self)[idx]
        return self._prepared(self.X[idx])

    def __array__(self, dtype=None, copy=None):
        out = self._prepared(self.X)
        return out if dtype is None else out.astype(dtype, copy=False)


class _CellCache:
    """A block family's cache from ``log_prob_missing`` (for ``suff_stats_missing``)."""

    __slots__ = ("cache",)

    def __init__(self, cache):
        self.cache = cache
