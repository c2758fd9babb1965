"""Initial responsibilities: k-means, k-means++ seeding, random.

Everything here works chunk by chunk on the same backend as EM, honours
sample weights (a row of weight ``k`` acts like ``k`` copies of the row, and
weight 0 like no row at all) and never builds more than an
(n_chunk, n_centres) distance matrix.

References
----------
Arthur, D. and Vassilvitskii, S. (2007). k-means++: the advantages of careful
seeding. Proceedings of SODA 2007, 1027-1035.
Lloyd, S. (1982). Least squares quantization in PCM. IEEE Transactions on
Information Theory 28(2):129-137.
"""

from __future__ import annotations

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
#: Lloyd iterations after k-means++ seeding when initialising a mixture: a
#: few passes place the centres well enough for EM, which refines them anyway,
#: and keep initialisation a small part of a fit on large data
LLOYD_MAX_ITER = 10


def _centre_of(data: Data, backend: NumpyBackend) -> np.ndarray:
    s, w = backend.map_reduce(
        lambda c: (c.sample_weight @ np.asarray(c.X, dtype=np.float64), c.sample_weight.sum()), data
    )
    return s / w


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


def _rows_as_float(chunk: Data, shift: np.ndarray) -> np.ndarray:
    return np.asarray(chunk.X, dtype=np.float64) - shift


def _canonical_order(data: Data, backend: NumpyBackend, shift: np.ndarray) -> np.ndarray:
    """Row order along a fixed random projection.

    Weighted draws walk the cumulative weights in this order rather than in
    the input order, so a fit does not depend on how the rows are shuffled,
    and a row of weight ``k`` is drawn exactly when ``k`` adjacent copies of
    it would be.
    """
    v = np.random.default_rng(20071122).standard_normal(data.n_features)
    key = backend.map_concat(lambda ch: _rows_as_float(ch, shift) @ v, data)
    return np.argsort(key, kind="stable")


def _pick_by_weight(mass: np.ndarray, order: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rows drawn with probability proportional to ``mass`` (cumulated in ``order``)."""
    cum = np.cumsum(mass[order])
    pos = np.searchsorted(cum, u * cum[-1], side="right")
    return order[np.minimum(pos, cum.shape[0] - 1)]


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


def _rows(data: Data, idx: np.ndarray, shift) -> np.ndarray:
    return np.asarray(data.X[np.asarray(idx)], dtype=np.float64) - shift


def kmeans_plusplus(data: Data, n_clusters: int, rng: np.random.RandomState, backend: NumpyBackend,
                    shift: np.ndarray | None = None) -> np.ndarray:
    """Greedy weighted k-means++ seeding.

    Returns
    -------
    centres : ndarray of shape (n_clusters, n_features)
        In the coordinates of ``X - shift``.
    """
    if shift is None:
        shift = _centre_of(data, backend)
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
    K = centres.shape[0]

    def spread(ch):
        Xt = _centred_t(ch, shift)
        return (np.einsum("ij,ij->j", Xt, Xt) @ ch.sample_weight,)

    var = backend.map_reduce(spread, data)[0] / data.sample_weight.sum()
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
    return centres, _nearest(data, backend, shift, centres)


def _one_hot(labels: np.ndarray, K: int) -> np.ndarray:
    resp = np.zeros((labels.shape[0], K))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp


#: above this many rows, k-means++ seeding and Lloyd iterations run on a weighted
#: subsample of this many draws, and only the final assignment visits every row
INIT_SAMPLE_SIZE = 100_000


def _weighted_subsample(data: Data, backend: NumpyBackend, shift: np.ndarray,
                        rng: np.random.RandomState, size: int) -> Data:
    """``size`` rows drawn with replacement, with probability proportional to weight.

    A row drawn ``k`` times becomes one row of weight ``k``.  The draws walk
    the cumulative weights in the canonical order, so the subsample does not
    depend on the row order and a row of weight ``k`` is drawn as often as
    ``k`` copies of it would be.
    """
    order = _canonical_order(data, backend, shift)
    idx = _pick_by_weight(data.sample_weight, order, rng.uniform(size=size))
    rows, counts = np.unique(idx, return_counts=True)
    return Data(np.asarray(data.X[rows]), counts.astype(np.float64))


def initial_resp(method: str, data: Data, n_components: int, rng: np.random.RandomState,
                 backend: NumpyBackend, sample_size: int = INIT_SAMPLE_SIZE) -> np.ndarray:
    """Initial responsibilities of every row.

    Parameters
    ----------
    method : {"kmeans", "k-means++", "random", "random_from_data"}
        ``"kmeans"``: k-means++ seeding then at most ``LLOYD_MAX_ITER``
        Lloyd iterations, hard labels.
        ``"k-means++"``: seeding only, each row to its nearest seed.
        ``"random"``: uniform random soft responsibilities.
        ``"random_from_data"``: ``n_components`` distinct rows drawn with
        probability proportional to their weight as centres, each row to its
        nearest centre.
    sample_size : int
        With more rows than this, "kmeans" and "k-means++" find their centres
        on a weighted subsample of ``sample_size`` draws (a standard way to
        keep initialisation a small part of a fit), then assign every row.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    """
    n = data.n_samples
    K = n_components
    if method == "random":
        resp = rng.uniform(size=(n, K))
        resp /= resp.sum(axis=1, keepdims=True)
        return resp
    shift = _centre_of(data, backend)
    if method == "random_from_data":
        order = _canonical_order(data, backend, shift)
        mass = data.sample_weight.copy()
        idx = np.empty(K, dtype=np.intp)
        for j in range(K):  # K draws without replacement
            idx[j] = _pick_by_weight(mass, order, rng.uniform(size=1))[0]
            mass[idx[j]] = 0.0
            if not mass.sum() > 0:
                mass = data.sample_weight.copy()
        centres = _rows(data, idx, shift)
    else:
        sub, sub_backend = data, backend
        if data.n_samples > sample_size:
            # the subsample is in memory on the client whatever ``data`` is
            sub = _weighted_subsample(data, backend, shift, rng, sample_size)
            sub_backend = NumpyBackend(backend.chunk_size)
        centres = kmeans_plusplus(sub, K, rng, sub_backend, shift)
        if method == "kmeans":
            centres, labels = lloyd(sub, centres, sub_backend, shift, max_iter=LLOYD_MAX_ITER)
            if sub is data:
                return _one_hot(labels, K)
    return _one_hot(_nearest(data, backend, shift, centres), K)
