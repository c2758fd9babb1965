"""Starts for EM: k-means, k-means++ seeding, random rows, random responsibilities.

Everything here works chunk by chunk on the same backend as EM, honours
sample weights (a row of weight ``k`` acts like ``k`` copies of the row, and
weight 0 like no row at all) and never builds more than an
(n_chunk, n_centres) array.  A start is a :class:`Start`: centres (every row
goes to its nearest centre) or a seed for random responsibilities.  The
responsibilities of a chunk are made inside that chunk and consumed by the
family's sufficient statistics at once (:func:`params_from_start`), so no
(n_samples, n_components) array is ever built while fitting.

References
----------
Arthur, D. and Vassilvitskii, S. (2007). k-means++: the advantages of careful
seeding. Proceedings of SODA 2007, 1027-1035.
Lloyd, S. (1982). Least squares quantization in PCM. IEEE Transactions on
Information Theory 28(2):129-137.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from ..backends.dask_backend import is_dask_array, total_weight
from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from ._rowmap import MappedRows, start_view  # noqa: F401  (start_view is public here)
from ._worker_rows import gather_rows, random_rows_on_workers, take_rows
from .draws import draw_rows, sort_key

#: the scikit-learn initialisations
SKLEARN_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
#: every ``init_params`` value; ``"auto"`` is :func:`emkit.engine.starts.auto_starts`,
#: ``"mbhac"`` :func:`emkit.engine.starts.mbhac_start` (families with ``hierarchical_start``)
INIT_METHODS = ("auto", "mbhac") + SKLEARN_METHODS
#: per-row side data holding the row index, for random responsibilities
ROW_KEY = "_init_row"
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


#: above this many rows, k-means++ seeding and Lloyd iterations run on a weighted
#: subsample of this many draws, and only the final assignment visits every row
INIT_SAMPLE_SIZE = 100_000


def _weighted_subsample(data: Data, backend: NumpyBackend, shift: np.ndarray,
                        rng: np.random.RandomState, size: int, view: Data | None = None) -> Data:
    """``size`` rows drawn with replacement, with probability proportional to weight.

    A row drawn ``k`` times becomes one row of weight ``k``.  The draws walk
    the cumulative weights in the canonical order (of ``view``'s rows when
    given, the start coordinates of ``data``), so the subsample does not
    depend on the row order and a row of weight ``k`` is drawn as often as
    ``k`` copies of it would be.
    """
    src = data if view is None else view  # the rows whose order the draws walk
    if is_dask_array(src.X):  # the same draws, found on the workers (no n-length array here)
        idx = draw_rows(src, backend, shift, canonical_direction(src.n_features),
                        rng.uniform(size=size))
    else:
        order = _canonical_order(src, backend, shift)
        idx = _pick_by_weight(data.sample_weight, order, rng.uniform(size=size))
    rows, counts = np.unique(idx, return_counts=True)
    if is_dask_array(data.X):
        X, aux = take_rows(data, backend, rows)
        return Data(X, counts.astype(np.float64), aux)
    aux = {k: np.asarray(v[rows]) for k, v in data.aux.items()}
    return Data(np.asarray(data.X[rows]), counts.astype(np.float64), aux)


@dataclass(frozen=True)
class Start:
    """A start that yields the responsibilities of any chunk of rows.

    Parameters
    ----------
    n_components : int
    centres : ndarray of shape (n_components, n_features) or None
        Every row goes (hard) to its nearest centre, in the coordinates of
        ``X - shift``.
    shift : ndarray of shape (n_features,) or None
    seed : int or None
        Without centres: uniform random responsibilities, a function of the
        seed and the row index only (not of the chunking).
    softening : float
        Share of uniform mass mixed into the responsibilities (discrete
        families need it: hard labels give probabilities of exactly 0 or 1,
        which EM can never leave).
    transform : callable or None
        The family's :meth:`~emkit.families.Family.start_transform`: the
        centres live in the coordinates it maps a chunk's rows to.
    """

    n_components: int
    centres: np.ndarray | None = None
    shift: np.ndarray | None = None
    seed: int | None = None
    softening: float = 0.0
    transform: object = None

    def resp(self, chunk: Data) -> np.ndarray:
        """Responsibilities of the rows of one chunk, shape (n_chunk, n_components)."""
        K = self.n_components
        n = chunk.n_samples
        if self.centres is not None:
            C = self.centres
            if self.transform is not None:
                chunk = Data(self.transform(np.asarray(chunk.X)), chunk.sample_weight)
            labels = _cross(_centred_t(chunk, self.shift), C, (C * C).sum(axis=1)).argmin(axis=0)
            resp = np.zeros((n, K))
            resp[np.arange(n), labels] = 1.0
        else:
            rows = np.asarray(chunk.aux[ROW_KEY], dtype=np.uint64)
            resp = _hash_uniform(self.seed, rows[:, None] * np.uint64(K) + np.arange(K, dtype=np.uint64))
            resp /= resp.sum(axis=1, keepdims=True)
        if self.softening:
            resp *= 1.0 - self.softening
            resp += self.softening / K
        return resp


def _hash_uniform(seed: int, idx: np.ndarray) -> np.ndarray:
    """Uniform numbers in (0, 1] from a counter (SplitMix64 finaliser of ``seed`` and ``idx``)."""
    z = idx * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed % 2**64)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return ((z >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53


def with_row_index(data: Data) -> Data:
    """``data`` with the row index as side data (random responsibilities need it)."""
    if ROW_KEY in data.aux:
        return data
    if is_dask_array(data.X):  # made on the workers, block by block
        import dask.array as da

        rows = da.arange(data.n_samples, chunks=(data.X.chunks[0],))
    else:
        rows = np.arange(data.n_samples)
    return Data(data.X, data.sample_weight, {**data.aux, ROW_KEY: rows})


def centre_of(data: Data, backend: NumpyBackend) -> np.ndarray:
    """Weighted mean row, shape (n_features,): ``data.mean`` when the set-up pass gave it."""
    if data.mean is not None:
        return np.asarray(data.mean, dtype=np.float64)
    return _centre_of(data, backend)


def random_rows(data: Data, K: int, rng: np.random.RandomState, backend: NumpyBackend,
                shift: np.ndarray) -> np.ndarray:
    """``K`` rows of distinct values drawn with probability proportional to weight, minus ``shift``.

    After each draw every row equal to the drawn one leaves the pool, so a
    row of weight ``k`` and ``k`` copies of it are drawn alike.  On a dask
    array the draws are found on the workers (:func:`~emkit.engine.draws.draw_rows`).
    """
    if is_dask_array(data.X):
        return random_rows_on_workers(data, K, rng, backend, shift)
    order = _canonical_order(data, backend, shift)
    mass = data.sample_weight.copy()
    idx = np.empty(K, dtype=np.intp)
    for j in range(K):  # K draws without replacement
        idx[j] = _pick_by_weight(mass, order, rng.uniform(size=1))[0]
        row = np.asarray(data.X[idx[j]])
        same = backend.map_concat(lambda ch, row=row: np.all(np.asarray(ch.X) == row, axis=1), data)
        mass[same] = 0.0
        if not mass.sum() > 0:
            mass = data.sample_weight.copy()
    return _rows(data, idx, shift)


def kmeans_centres(data: Data, K: int, rng: np.random.RandomState, backend: NumpyBackend,
                   shift: np.ndarray, lloyd_iter: int = LLOYD_MAX_ITER,
                   sample_size: int = INIT_SAMPLE_SIZE) -> np.ndarray:
    """k-means++ seeds, then at most ``lloyd_iter`` Lloyd iterations (0: seeds only).

    Above ``sample_size`` rows on a weighted subsample of ``sample_size``
    draws made where the rows are.  A dask array of at most ``sample_size``
    rows is gathered on the client (no larger than the subsample would be),
    so its start is the in-memory start.
    """
    sub = data
    if data.n_samples > sample_size:
        sub = _weighted_subsample(data, backend, shift, rng, sample_size)
        backend = NumpyBackend(backend.chunk_size)
    elif is_dask_array(data.X):
        sub = gather_rows(data, backend)
        backend = NumpyBackend(backend.chunk_size)
    centres = kmeans_plusplus(sub, K, rng, backend, shift)
    if lloyd_iter:
        centres = _lloyd_centres(sub, centres, backend, shift, lloyd_iter)
    return centres


def make_start(method: str, data: Data, n_components: int, rng: np.random.RandomState,
               backend: NumpyBackend, sample_size: int = INIT_SAMPLE_SIZE, softening: float = 0.0,
               shift: np.ndarray | None = None, transform=None) -> Start:
    """The start of one scikit-learn initialisation method.

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
    Start
    """
    K = n_components
    if method == "mbhac":
        raise ValueError("init_params='mbhac' starts from a partition, not centres; "
                         "use emkit.engine.starts.mbhac_start")
    if method == "random":
        return Start(K, seed=int(rng.randint(0, 2**31 - 1)), softening=softening)
    data = start_view(data, transform)
    if shift is None:
        shift = centre_of(data, backend)
    if method == "random_from_data":
        centres = random_rows(data, K, rng, backend, shift)
    else:
        centres = kmeans_centres(data, K, rng, backend, shift,
                                 LLOYD_MAX_ITER if method == "kmeans" else 0, sample_size)
    return Start(K, centres=centres, shift=shift, softening=softening, transform=transform)


def params_from_start(family: Family, data: Data, start: Start, backend: NumpyBackend,
                      params: dict | None = None, fixed: frozenset = frozenset()) -> dict:
    """Parameters of one M-step from a start's responsibilities, chunk by chunk.

    Each chunk makes its own (n_chunk, n_components) responsibilities and
    turns them into sufficient statistics at once, so memory stays bounded by
    the chunk size.
    """
    from .em import maximization

    K = start.n_components
    if start.centres is None:
        data = with_row_index(data)

    def fn(chunk: Data):
        r = start.resp(chunk)
        r *= chunk.sample_weight[:, None]
        aux = {k: v for k, v in chunk.aux.items() if k != ROW_KEY}
        st = family.suff_stats(chunk.X, r, aux, None)
        st["nk"] = r.sum(axis=0)
        return (Stats(**st),)

    (stats,) = backend.map_reduce(fn, data, K)
    return maximization(family, stats, params or {}, fixed)


def initial_resp(method: str, data: Data, n_components: int, rng: np.random.RandomState,
                 backend: NumpyBackend, sample_size: int = INIT_SAMPLE_SIZE,
                 transform=None) -> np.ndarray:
    """Initial responsibilities of every row, shape (n_samples, n_components).

    For inspection and tests on small data: fitting never builds this array
    (it uses :func:`make_start` and :func:`params_from_start`).
    """
    start = make_start(method, data, n_components, rng, backend, sample_size, transform=transform)
    if start.centres is None:
        data = with_row_index(data)
    return backend.map_concat(start.resp, data, n_components)
