"""Rows of a dask-backed :class:`Data` brought to the client a few at a time.

The starts of :mod:`emkit.engine.init` need a few rows (drawn ones, or all
of a small data set) in memory; these helpers fetch them with passes of the
backend, so that no n-length array is made on the client for a large one.
"""

from __future__ import annotations

import numpy as np

from ..backends.numpy_backend import Data
from .draws import draw_rows


def take_rows(data: Data, backend, rows: np.ndarray):
    """Rows ``rows`` (sorted, distinct) of ``X`` and of the side data, gathered chunk by chunk.

    A pass of the backend (as many blocks in memory as it runs at once),
    rather than dask's fancy indexing, which may read every block at once.

    Returns
    -------
    X : ndarray of shape (len(rows), n_features)
    aux : dict of arrays with ``len(rows)`` rows each
    """
    keys = sorted(data.aux)

    def pick(ch):
        at = np.searchsorted(rows, ch.start + np.arange(ch.n_samples))
        hit = np.flatnonzero((at < rows.shape[0])
                             & (rows[np.minimum(at, rows.shape[0] - 1)] == ch.start + np.arange(ch.n_samples)))
        return ([np.asarray(ch.X)[hit]], *[[np.asarray(ch.aux[k])[hit]] for k in keys])

    out = backend.map_reduce(pick, data)
    return np.concatenate(out[0]), {k: np.concatenate(v) for k, v in zip(keys, out[1:], strict=True)}


def gather_rows(data: Data, backend) -> Data:
    """All of ``data`` (rows, weights, side data) in memory, by one pass of the backend.

    Only for data no larger than the subsample a start would otherwise draw.
    """
    keys = sorted(data.aux)

    def pick(ch):
        return ([np.asarray(ch.X)], [np.asarray(ch.sample_weight, dtype=np.float64)],
                *[[np.asarray(ch.aux[k])] for k in keys])

    out = backend.map_reduce(pick, data)
    aux = {k: np.concatenate(v) for k, v in zip(keys, out[2:], strict=True)}
    return Data(np.concatenate(out[0]), np.concatenate(out[1]), aux)


def random_rows_on_workers(data: Data, K: int, rng: np.random.RandomState, backend,
                           shift: np.ndarray) -> np.ndarray:
    """:func:`emkit.engine.init.random_rows` with every draw found on the workers.

    Each draw removes the drawn value's mass from the pool (every row equal
    to it), as the in-memory draw does; only the ``K`` drawn rows reach the client.

    Returns
    -------
    centres : ndarray of shape (K, n_features)
    """
    from .init import canonical_direction

    v = canonical_direction(data.n_features)
    taken: list[np.ndarray] = []  # rows out of the pool since the last refill
    idx = np.empty(K, dtype=np.int64)

    def mass(ch, gone=None):
        w = ch.sample_weight
        if not gone:
            return w
        X = np.asarray(ch.X)
        hit = (X[:, None, :] == np.asarray(gone)[None]).all(axis=2).any(axis=1)  # (n_chunk,)
        return np.where(hit, 0.0, np.asarray(w, dtype=np.float64))

    for j in range(K):
        gone = list(taken)
        idx[j] = draw_rows(data, backend, shift, v, rng.uniform(size=1),
                           mass=lambda ch, gone=gone: mass(ch, gone))[0]
        taken.append(np.asarray(data.X[int(idx[j])]))
        (left,) = backend.map_reduce(lambda ch, g=list(taken): (float(mass(ch, g).sum()),), data)
        if not left > 0:
            taken = []
    return np.asarray(data.X[idx], dtype=np.float64) - shift
