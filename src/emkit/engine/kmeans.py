"""Weighted k-means for the starts of EM: k-means++ seeding and Lloyd iterations.

Everything here works chunk by chunk on the same backend as EM, honours sample
weights (a row of weight ``k`` acts like ``k`` copies of the row) and never
builds more than an (n_chunk, n_centres) array; distances are taken in the
transposed layout (features by rows) so that every reduction runs along long
contiguous rows.

References
----------
Arthur, D. and Vassilvitskii, S. (2007). k-means++: the advantages of careful
seeding. Proceedings of SODA 2007, 1027-1035.
Lloyd, S. (1982). Least squares quantization in PCM. IEEE Transactions on
Information Theory 28(2):129-137.
"""

from __future__ import annotations

import numpy as np

from ..backends.dask_backend import total_weight
from ..backends.numpy_backend import Data, NumpyBackend
from ._order import _canonical_order, _pick_by_weight, _rows

#: Lloyd iterations after k-means++ seeding when initialising a mixture: a
#: few passes place the centres well enough for EM, which refines them anyway,
#: and keep initialisation a small part of a fit on large data
LLOYD_MAX_ITER = 10


def _centred_t(chunk: Data, shift: np.ndarray) -> np.ndarray:
    """Rows of a chunk minus ``shift``, transposed: C-contiguous (n_features, n_rows) float64.

    The transposed layout keeps every reduction below (over features, or over
    centres) running along long contiguous rows.
    """
    X = np.asarray(chunk.X)
    out = np.empty((X.shape[1], X.shape[0]))
    np.subtract(X.T, shift[:, None], out=out)
    return out


def _cross(Xt: np.ndarray, C: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    """``|c|^2 - 2 c.x`` for every centre and row, shape (n_centres, n_rows).

    Its argmin over axis 0 is the nearest centre (``|x|^2`` does not change it).
    """
    D = C @ Xt
    D *= -2.0
    D += c_sq[:, None]
    return D


def _sq_dist_t(Xt: np.ndarray, C: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    """Squared distances, shape (n_centres, n_rows), from one product."""
    D = _cross(Xt, C, c_sq)
    D += np.einsum("ij,ij->j", Xt, Xt)[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def _min_dist_to(data: Data, backend: NumpyBackend, shift, C) -> np.ndarray:
    c_sq = (C * C).sum(axis=1)
    return backend.map_concat(
        lambda ch: _sq_dist_t(_centred_t(ch, shift), C, c_sq).min(axis=0), data, C.shape[0]
    )


def _nearest(data: Data, backend: NumpyBackend, shift, C) -> np.ndarray:
    """Index of the nearest centre of every row, shape (n_samples,)."""
    c_sq = (C * C).sum(axis=1)
    return backend.map_concat(
        lambda ch: _cross(_centred_t(ch, shift), C, c_sq).argmin(axis=0), data, C.shape[0]
    )


def kmeans_plusplus(data: Data, n_clusters: int, rng: np.random.RandomState, backend: NumpyBackend,
                    shift: np.ndarray | None = None) -> np.ndarray:
    """Greedy weighted k-means++ seeding.

    Returns
    -------
    centres : ndarray of shape (n_clusters, n_features)
        In the coordinates of ``X - shift``.
    """
    if shift is None:
        from .init import centre_of  # the set-up pass's mean row when it has one

        shift = centre_of(data, backend)
    w = data.sample_weight
    order = _canonical_order(data, backend, shift)
    n_local = 2 + int(np.log(n_clusters))
    first = _pick_by_weight(w, order, rng.uniform(size=1))
    centres = [_rows(data, first, shift)[0]]
    closest = _min_dist_to(data, backend, shift, np.asarray(centres))
    for _ in range(1, n_clusters):
        mass = w * closest
        if not mass.sum() > 0:  # fewer distinct rows than clusters
            mass = w
        cand_idx = _pick_by_weight(mass, order, rng.uniform(size=n_local))
        cand = _rows(data, cand_idx, shift)
        c_sq = (cand * cand).sum(axis=1)
        dist = backend.map_concat(
            lambda ch, cand=cand, c_sq=c_sq: _sq_dist_t(_centred_t(ch, shift), cand, c_sq).T,
            data, n_local,
        )
        np.minimum(dist, closest[:, None], out=dist)
        best = int(np.argmin(w @ dist))
        centres.append(cand[best])
        closest = dist[:, best]
    return np.asarray(centres)


def lloyd(data: Data, centres: np.ndarray, backend: NumpyBackend, shift: np.ndarray,
          max_iter: int = 100, tol: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd iterations from ``centres``.

    Returns
    -------
    centres : ndarray of shape (n_clusters, n_features)
    labels : ndarray of shape (n_samples,)
    """
    centres = _lloyd_centres(data, centres, backend, shift, max_iter, tol)
    return centres, _nearest(data, backend, shift, centres)


def _lloyd_centres(data: Data, centres: np.ndarray, backend: NumpyBackend, shift: np.ndarray,
                   max_iter: int = 100, tol: float = 1e-4) -> np.ndarray:
    """Centres after weighted Lloyd iterations (no final assignment pass)."""
    K = centres.shape[0]

    def spread(ch):
        Xt = _centred_t(ch, shift)
        return (np.einsum("ij,ij->j", Xt, Xt) @ ch.sample_weight,)

    var = backend.map_reduce(spread, data)[0] / total_weight(data)
    for _ in range(max_iter):
        c_sq = (centres * centres).sum(axis=1)

        def assign(ch, centres=centres, c_sq=c_sq):
            Xt = _centred_t(ch, shift)
            lab = _cross(Xt, centres, c_sq).argmin(axis=0)
            w = ch.sample_weight
            counts = np.bincount(lab, weights=w, minlength=K)
            # per-cluster weighted sums: one bincount per feature (not per cluster)
            sums = np.stack([np.bincount(lab, weights=w * row, minlength=K) for row in Xt], axis=1)
            return sums, counts

        sums, counts = backend.map_reduce(assign, data, K)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1e-300)[:, None], centres)
        shift_sq = ((new - centres) ** 2).sum()
        centres = new
        if shift_sq <= tol * tol * max(var, 1e-300):
            break
    return centres
