"""In-memory (and memory-mapped) execution: rows processed in chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

#: number of float64 values a chunk's largest temporary may hold by default
#: (an (n_chunk, n_components, n_features) array): 2**22 values, 32 MiB.
DEFAULT_CHUNK_ELEMENTS = 2**22


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
    """

    X: np.ndarray
    sample_weight: np.ndarray
    aux: Mapping[str, np.ndarray] = field(default_factory=dict)
    start: int = 0

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


def default_chunk_size(n_components: int, n_features: int) -> int:
    """Rows per chunk so that an (n, K, d) temporary stays near 32 MiB."""
    width = max(1, n_components * max(1, n_features))
    return int(max(1024, DEFAULT_CHUNK_ELEMENTS // width))


class NumpyBackend:
    """Map a function over row chunks of in-memory data and sum the results.

    Parameters
    ----------
    chunk_size : int or None
        Rows per chunk; ``None`` picks :func:`default_chunk_size`.
    """

    def __init__(self, chunk_size: int | None = None):
        self.chunk_size = chunk_size

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

    def map_reduce(self, fn: Callable[[Data], tuple], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk and add the returned tuples elementwise."""
        total = None
        for chunk in self.chunks(data, n_components):
            out = fn(chunk)
            total = out if total is None else tuple(a + b for a, b in zip(total, out, strict=True))
        return total

    def map_concat(self, fn: Callable[[Data], np.ndarray], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk and concatenate the row-wise results."""
        parts = [fn(chunk) for chunk in self.chunks(data, n_components)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
