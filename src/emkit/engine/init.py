"""Starts for EM: k-means, k-means++ seeding, random rows, random responsibilities.

The seeding and Lloyd iterations are in :mod:`emkit.engine.kmeans`, the
canonical row order and weighted picks in :mod:`emkit.engine._order`.

Everything here works chunk by chunk on the same backend as EM, honours
sample weights (a row of weight ``k`` acts like ``k`` copies of the row, and
weight 0 like no row at all) and never builds more than an
(n_chunk, n_centres) array.  A start is a :class:`Start`: centres (every row
goes to its nearest centre) or a seed for random responsibilities.  The
responsibilities of a chunk are made inside that chunk and consumed by the
family's sufficient statistics at once (:func:`params_from_start`), so no
(n_samples, n_components) array is ever built while fitting.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from ..backends.dask_backend import is_dask_array
from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from ._order import _canonical_order, _pick_by_weight, _rows, canonical_direction
from ._rowmap import MappedRows, start_view  # noqa: F401  (start_view is public here)
from ._worker_rows import gather_rows, random_rows_on_workers, take_rows
from .draws import draw_rows
from .kmeans import LLOYD_MAX_ITER, _centred_t, _cross, _lloyd_centres, kmeans_plusplus

#: the scikit-learn initialisations
SKLEARN_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
#: every ``init_params`` value; ``"auto"`` is :func:`emkit.engine.starts.auto_starts`,
#: ``"mbhac"`` :func:`emkit.engine.starts.mbhac_start` (families with ``hierarchical_start``)
INIT_METHODS = ("auto", "mbhac") + SKLEARN_METHODS
#: per-row side data holding the row index, for random responsibilities
ROW_KEY = "_init_row"


def _centre_of(data: Data, backend: NumpyBackend) -> np.ndarray:
    s, w = backend.map_reduce(
        lambda c: (c.sample_weight @ np.asarray(c.X, dtype=np.float64), c.sample_weight.sum()), data
    )
    return s / w


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
