"""In-memory (and memory-mapped) execution: rows processed in chunks, on every core.

Chunks are mapped over a pool of threads, one per core.  NumPy's element-wise
loops and BLAS release the GIL, so the per-chunk work (feature rows,
log-sum-exp, responsibilities) runs on all cores instead of one; while the
pool runs, BLAS is limited to one thread per call (threadpoolctl), so the
threads do not oversubscribe the cores (on a loaded machine a two-thread BLAS
call made many small products several times slower than one thread).  The
per-chunk results are added in chunk order, so a fit is bit-for-bit the same
for a given number of threads, whatever the scheduling.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

#: bytes of per-core cache assumed where the system does not say (Linux sysfs)
FALLBACK_CACHE_BYTES = 2**20
#: share of the per-core cache (L2) taken by a chunk's ``(K, n)`` block of float64 log
#: densities, which the log-sum-exp and the responsibilities pass over five or six times
#: between the E-step product and the M-step product (the feature rows stream through
#: the products and do not fit at any useful size).  Measured on a 2-core Xeon (2 MiB L2
#: per core; benchmarks/README.md, Speed II seventh run, ``bench_chunks.py``): at
#: (200,000, 16, 16) every covariance type was fastest at 8,192 rows (half an L2 of 16
#: float64 log densities), 7-13% faster than 4,096 with one core and up to 39% with two
#: under load; at (1e6, 2, 5) 26,214 rows (half an L2 of 5) were fastest, 1.2x faster
#: than 8,192 and 1.25x than 32,768
CACHE_SHARE = 0.5
#: fewest rows per chunk: below this the fixed cost of a chunk (a few dozen
#: NumPy calls) outweighs the cache (at (200,000, 16, 16) 2,048 rows were 1.2-2x
#: slower than 4,096)
MIN_CHUNK_ROWS = 4096
#: most float64 values of a chunk's widest temporary, about ``K d`` per row (the
#: stacked whitening of wide full covariance; 32 MiB): bounds a chunk's memory
MAX_CHUNK_ELEMENTS = 2**22

@dataclass(frozen=True)
class Data:
    """Rows to fit, their weights and any per-row side data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        May be a ``numpy.memmap``; only chunks are ever read at once.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative float64 weights.
    aux : dict of ndarray
        Arrays whose first axis has length ``n_samples`` (for example the
        number of binomial trials of every row); sliced together with ``X``.
    start : int, default=0
        Index of the first row in the whole data (a chunk's offset), for
        messages that name a row.
    mean : ndarray of shape (n_features,) or None, default=None
        Weighted mean row of these rows, float64, when the set-up pass
        (:meth:`emkit.families.Family.prepare`) has computed it; the
        initialisation centres on it without another pass.  Chunks and
        subsamples do not carry it.
    """

    X: np.ndarray
    sample_weight: np.ndarray
    aux: Mapping[str, np.ndarray] = field(default_factory=dict)
    start: int = 0
    mean: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def rows(self, start: int, stop: int) -> Data:
        """The rows ``start:stop`` as a new ``Data`` (views, no copy)."""
        return Data(
            self.X[start:stop],
            self.sample_weight[start:stop],
            {k: v[start:stop] for k, v in self.aux.items()},
            self.start + start,
        )


def cache_bytes() -> int:
    """Size of the private (per-core) cache nearest the memory: L2 on most x86 chips.

    Read from Linux sysfs (the largest cache level shared by one CPU only);
    :data:`FALLBACK_CACHE_BYTES` elsewhere.
    """
    if _CACHE:
        return _CACHE[0]
    size = 0
    root = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in sorted(os.listdir(root)):
            if not entry.startswith("index"):
                continue
            path = os.path.join(root, entry)
            with open(os.path.join(path, "type")) as fh:
                if fh.read().strip() == "Instruction":
                    continue
            with open(os.path.join(path, "shared_cpu_list")) as fh:
                if fh.read().strip() not in ("0", "0-0"):
                    continue  # shared between cores (L3): not private
            with open(os.path.join(path, "size")) as fh:
                text = fh.read().strip().upper()
            scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            size = max(size, int(text.rstrip("KMG")) * scale)
    except (OSError, ValueError):
        size = 0
    _CACHE.append(size if size >= 2**16 else FALLBACK_CACHE_BYTES)
    return _CACHE[0]


_CACHE: list[int] = []


def default_chunk_size(n_components: int, n_features: int) -> int:
    """Rows per chunk from the per-core cache size.

    A chunk's ``(K, n)`` block of float64 log densities (later its
    responsibilities) is the array the E-step passes over most often; the chunk
    gets the rows for which it fills :data:`CACHE_SHARE` of the per-core cache
    (:func:`cache_bytes`), so it stays there between the E-step product and
    the M-step product, with room left for the feature rows streaming through
    them.  At least :data:`MIN_CHUNK_ROWS` rows (the fixed cost of a chunk),
    and at most :data:`MAX_CHUNK_ELEMENTS` values of the widest per-row
    temporary, ``K d`` (memory).

    Parameters
    ----------
    n_components : int
    n_features : int

    Returns
    -------
    int
        Rows per chunk.
    """
    K = max(1, n_components)
    rows = int(CACHE_SHARE * cache_bytes()) // (8 * K)
    width = K * max(1, n_features)
    return int(max(MIN_CHUNK_ROWS, min(rows, MAX_CHUNK_ELEMENTS // width)))


def default_n_jobs() -> int:
    """Threads that map chunks: ``EMKIT_NUM_THREADS`` if set, else the cores this process may run on."""
    env = os.environ.get("EMKIT_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
_LOCAL = threading.local()
_BLAS = []  # one cached threadpoolctl controller (finding the libraries costs ~0.5 ms)


def _pool(n_jobs: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if n_jobs not in _POOLS:
            _POOLS[n_jobs] = ThreadPoolExecutor(n_jobs, thread_name_prefix="emkit",
                                                initializer=_mark_worker)
        return _POOLS[n_jobs]


def _mark_worker() -> None:
    _LOCAL.worker = True


def _one_blas_thread():
    """Context in which BLAS runs one thread per call."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


class NumpyBackend:
    """Map a function over row chunks of in-memory data and sum the results.

    Parameters
    ----------
    chunk_size : int or None
        Rows per chunk; ``None`` picks :func:`default_chunk_size`.
    n_jobs : int or None
        Threads the chunks are mapped over; ``None`` uses every core the
        process may run on (:func:`default_n_jobs`), 1 maps them in the
        calling thread with BLAS at its own thread count.  Results are the
        same bit for bit for a given ``n_jobs``, and agree to rounding
        (about 1e-15 relative) between different ones.
    """

    def __init__(self, chunk_size: int | None = None, n_jobs: int | None = None):
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    def resolve_chunk_size(self, data: Data, n_components: int) -> int:
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return default_chunk_size(n_components, data.n_features)

    def chunks(self, data: Data, n_components: int = 1) -> Iterator[Data]:
        """Yield consecutive row chunks of ``data``."""
        size = self.resolve_chunk_size(data, n_components)
        n = data.n_samples
        if n <= size:
            yield data
            return
        for start in range(0, n, size):
            yield data.rows(start, min(start + size, n))

    def _map(self, fn: Callable[[Data], object], data: Data, n_components: int) -> Iterator:
        """``fn`` of every chunk, in chunk order (computed by the pool when it pays)."""
        jobs = default_n_jobs() if self.n_jobs is None else int(self.n_jobs)
        n = data.n_samples
        if jobs <= 1 or n <= self.resolve_chunk_size(data, n_components) or getattr(
                _LOCAL, "worker", False):  # one chunk, or already inside a pool thread
            yield from map(fn, self.chunks(data, n_components))
            return
        with _one_blas_thread():
            # Executor.map keeps the order and cancels what is left if one fails
            yield from _pool(jobs).map(fn, self.chunks(data, n_components))

    def map_reduce(self, fn: Callable[[Data], tuple], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk and add the returned tuples elementwise, in chunk order."""
        total = None
        for out in self._map(fn, data, n_components):
            total = out if total is None else tuple(a + b for a, b in zip(total, out, strict=True))
        return total

    def map_concat(self, fn: Callable[[Data], np.ndarray], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk and concatenate the row-wise results."""
        parts = list(self._map(fn, data, n_components))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
