"""Dask execution: the row blocks of a dask array are the chunks.

Every EM iteration ships the current parameters to the workers, maps the
fused E-step over the row blocks and sums the (small) statistics on the
client; the data never leave the workers.  ``dask.compute`` is used, so an
active ``dask.distributed.Client`` runs the work on its cluster and, without
one, dask's local threaded scheduler does.  dask is imported lazily: it is
only needed when a dask array is passed to ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .numpy_backend import Data


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _apply(fn, block, weights, aux):
    return fn(Data(np.asarray(block), weights, aux))


class DaskBackend:
    """Map a function over the row blocks of a dask array and reduce the results.

    ``data.X`` must be a 2-D dask array; ``data.sample_weight`` and the
    ``aux`` arrays are NumPy arrays, cut to match the row blocks.
    """

    chunk_size = None

    def _blocks(self, data: Data):
        X = data.X
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})
        offsets = np.cumsum((0,) + tuple(X.chunks[0]))
        blocks = X.to_delayed().ravel()
        for i, block in enumerate(blocks):
            sl = slice(int(offsets[i]), int(offsets[i + 1]))
            yield block, data.sample_weight[sl], {k: v[sl] for k, v in data.aux.items()}

    def _compute(self, fn, data: Data) -> list:
        import dask

        tasks = [dask.delayed(_apply)(fn, b, w, aux) for b, w, aux in self._blocks(data)]
        return list(dask.compute(*tasks))

    def chunks(self, data: Data, n_components: int = 1) -> Iterator[Data]:
        """Yield the row blocks as in-memory ``Data`` (computed one at a time)."""
        for block, w, aux in self._blocks(data):
            yield Data(np.asarray(block.compute()), w, aux)

    def map_reduce(self, fn: Callable[[Data], tuple], data: Data, n_components: int = 1):
        """Apply ``fn`` to every row block on the workers and add the tuples on the client."""
        results = self._compute(fn, data)
        total = results[0]
        for out in results[1:]:
            total = tuple(a + b for a, b in zip(total, out, strict=True))
        return total

    def map_concat(self, fn: Callable[[Data], np.ndarray], data: Data, n_components: int = 1):
        """Apply ``fn`` to every row block and concatenate the row-wise results."""
        parts = self._compute(fn, data)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
