"""Rows seen through a row-wise map, chunk by chunk: the coordinates starts cluster in."""

from __future__ import annotations

import numpy as np

from ..backends.numpy_backend import Data


class MappedRows:
    """Rows of ``X`` seen through a row-wise ``transform``, computed chunk by chunk.

    Slicing rows gives another lazy view (so a backend's chunks stay lazy);
    an index array, an integer or ``numpy.asarray`` gives the transformed
    rows.  Nothing of the size of ``X`` is ever built.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        An ndarray or a ``numpy.memmap``.
    transform : callable
        Maps an (n, n_features) array to an (n, n_out) float64 array, row by row.
    """

    def __init__(self, X, transform):
        self.X = X
        self.transform = transform
        self.shape = tuple(X.shape)
        self.ndim = 2
        self.dtype = np.dtype(np.float64)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return MappedRows(self.X[idx], self.transform)
        if isinstance(idx, (int, np.integer)):
            return self.transform(np.asarray(self.X[int(idx):int(idx) + 1]))[0]
        return self.transform(np.asarray(self.X[idx]))

    def __array__(self, dtype=None, copy=None):
        out = self.transform(np.asarray(self.X))
        return out if dtype is None else out.astype(dtype, copy=False)


def start_view(data: Data, transform) -> Data:
    """``data`` in the coordinates a start clusters in (itself when ``transform`` is None)."""
    if transform is None:
        return data
    from ..backends.dask_backend import is_dask_array

    X = data.X
    if is_dask_array(X):
        X = X.map_blocks(transform, dtype=np.float64)
    else:
        X = MappedRows(X, transform)
    return Data(X, data.sample_weight, {}, data.start)


__all__ = ["MappedRows", "start_view"]
