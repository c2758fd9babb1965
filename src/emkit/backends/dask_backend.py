"""Dask execution: the row blocks of a dask array, run where the blocks live.

Once per fit, ``X`` is persisted on the cluster (:func:`persist_rows`) and
every per-row array the engine hands over (sample weights, side data such as
binomial trials, initial responsibilities) is cut to ``X``'s row blocks and
persisted beside it the first time it is seen, so no pass embeds a NumPy
array in its task graph.  Rows of weight one everywhere are not shipped at
all: the workers make them.

Every pass puts the function to run (it carries the current parameters) in
the graph once, under its own key, so it is serialised once and fetched once
per worker rather than sent with every task; inside a block the rows are
processed in chunks of ``chunk_size`` by the NumPy backend; the per-block
statistics are added in a tree on the workers (``split_every`` at a time),
and only the final sum, O(K d^2) numbers, reaches the client.

``dask.compute`` is used, so an active ``dask.distributed.Client`` runs the
work on its cluster and, without one, dask's local threaded scheduler does.
A worker lost during a pass is handled by the scheduler (the tasks are
re-run from the persisted blocks' lineage) or the pass raises; a pass never
returns partial sums.  dask is imported lazily.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .numpy_backend import Data, NumpyBackend

#: partial results added per reduction task
SPLIT_EVERY = 8


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def total_weight(data: Data) -> float:
    """Sum of the sample weights; for dask weights computed once and remembered."""
    w = data.sample_weight
    if not is_dask_array(w):
        return float(w.sum())
    hit = _TOTALS.get(w.name)
    if hit is None:
        hit = float(w.sum().compute())
        if len(_TOTALS) > 64:
            _TOTALS.clear()
        _TOTALS[w.name] = hit
    return hit


#: dask weights' totals by the array's name (a name is a hash of its graph)
_TOTALS: dict[str, float] = {}


def check_message(check: Callable, X, start: int) -> str:
    """The message of the ``ValueError`` that ``check(X, {}, start)`` raises, or ''.

    The ``check`` of :meth:`DaskBackend.lazy_rows` for a family's
    ``check_rows``: a module-level function, so a worker unpickles only the
    family, not the estimator (whose module imports scikit-learn).
    """
    try:
        check(X, {}, start)
    except ValueError as exc:
        return str(exc)
    return ""


def persist_rows(X, persist: bool = True):
    """``X`` with one column block, persisted on the cluster unless ``persist`` is False.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features)

    Returns
    -------
    X : dask array of shape (n_samples, n_features)
    """
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    return X.persist() if persist else X


def _block_data(block, weights, aux, start: int = 0) -> Data:
    X = np.asarray(block)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    return Data(X, w, {k: np.asarray(v) for k, v in aux.items()}, start)


def _reduce_block(fn, chunk_size, n_components, block, weights, aux, start=0):
    data = _block_data(block, weights, aux, start)
    return NumpyBackend(chunk_size, n_jobs=1).map_reduce(fn, data, n_components)


def _concat_block(fn, chunk_size, n_components, block, weights, aux, start=0):
    data = _block_data(block, weights, aux, start)
    return NumpyBackend(chunk_size, n_jobs=1).map_concat(fn, data, n_components)


def _offset_block(fn, start, block, weights, aux):
    return fn(_block_data(block, weights, aux), start)


def _add(*parts):
    total = parts[0]
    for out in parts[1:]:
        total = tuple(a + b for a, b in zip(total, out, strict=True))
    return total


def tree_sum(parts: list, split_every: int = SPLIT_EVERY):
    """Delayed elementwise sum of delayed tuples, added ``split_every`` at a time."""
    import dask

    add = dask.delayed(_add, pure=True)
    while len(parts) > 1:
        parts = [add(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


class DaskBackend:
    """Map a function over the row blocks of a dask array and reduce on the workers.

    Parameters
    ----------
    chunk_size : int or None
        Rows processed at once inside a block; ``None`` picks
        :func:`~emkit.backends.numpy_backend.default_chunk_size`.
    persist : bool
        Persist per-row side arrays on the cluster the first time they are
        used (``X`` itself is persisted by :func:`persist_rows`).  False
        rebuilds them from the client's arrays in every pass.
    split_every : int
        Partial results added per reduction task.

    Notes
    -----
    ``data.X`` must be a 2-D dask array with one column block;
    ``data.sample_weight`` and the ``aux`` arrays are NumPy arrays on the
    client (the engine draws from them there) or dask arrays with the same
    row blocks as ``X``.
    """

    def __init__(self, chunk_size: int | None = None, persist: bool = True,
                 split_every: int = SPLIT_EVERY):
        self.chunk_size = chunk_size
        self.persist = persist
        self.split_every = int(split_every)
        # id(array) -> (array, its blocks as delayed objects, or None for all ones)
        self._side: dict[int, tuple] = {}

    # ---------------------------------------------------------- data layout
    def _side_blocks(self, arr, row_chunks, is_weight: bool):
        """Delayed row blocks of a per-row array, aligned with ``row_chunks``."""
        import dask.array as da

        hit = self._side.get(id(arr))
        if hit is not None and hit[0] is arr and hit[1] == row_chunks:
            return hit[2]
        d = None
        if is_dask_array(arr):
            d = arr
            if d.chunks[0] != row_chunks or any(len(c) != 1 for c in d.chunks[1:]):
                d = d.rechunk((row_chunks,) + tuple(-1 for _ in d.chunks[1:]))
            blocks = list(d.to_delayed().ravel())
        elif is_weight and arr.size and arr.min() == 1.0 and arr.max() == 1.0:
            blocks = [None] * len(row_chunks)
        else:
            d = da.from_array(np.asarray(arr), chunks=(row_chunks,) + arr.shape[1:])
            if self.persist:
                d = d.persist()
            blocks = list(d.to_delayed().ravel())
        # the persisted array is kept: its futures must outlive every pass of the fit
        self._side[id(arr)] = (arr, row_chunks, blocks, d)
        return blocks

    def _blocks(self, data: Data) -> list:
        """``(x, weights, aux)`` delayed objects of every row block."""
        X = persist_rows(data.X, persist=False)
        rows = tuple(X.chunks[0])
        xs = list(X.to_delayed().ravel())
        ws = self._side_blocks(data.sample_weight, rows, True)
        aux = {k: self._side_blocks(v, rows, False) for k, v in data.aux.items()}
        return [(x, ws[i], {k: b[i] for k, b in aux.items()}) for i, x in enumerate(xs)]

    @staticmethod
    def _starts(data: Data) -> list:
        """Index of the first row of every row block."""
        rows = persist_rows(data.X, persist=False).chunks[0]
        return [int(s) for s in np.cumsum((0,) + tuple(rows))[:-1]]

    @staticmethod
    def _broadcast(obj):
        """``obj`` under a key of its own: serialised once, fetched once per worker."""
        import dask

        return dask.delayed(obj, pure=False, traverse=False)

    # -------------------------------------------------------------- passes
    @staticmethod
    def _local_step() -> int | None:
        """Tasks to run at a time on the local scheduler; None on a distributed cluster.

        Without a ``dask.distributed`` client the local threaded scheduler
        may read source blocks ahead of their consumers; running as many
        tasks as it has threads at a time keeps memory at that many blocks.
        """
        import dask

        try:
            from dask.distributed import default_client

            default_client()
            return None
        except (ImportError, ValueError):
            pass
        if dask.config.get("scheduler", None) is not None:
            return None
        return max(1, int(dask.config.get("num_workers", None) or os.cpu_count() or 1))

    def _compute(self, tasks: list) -> list:
        import dask

        step = self._local_step()
        if step is None:
            return list(dask.compute(*tasks))
        out: list = []
        for i in range(0, len(tasks), step):
            out.extend(dask.compute(*tasks[i:i + step]))
        return out

    def map_reduce(self, fn: Callable[[Data], tuple], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk of every block and add the tuples on the workers."""
        import dask

        f = self._broadcast(fn)
        run = dask.delayed(_reduce_block, pure=False)
        parts = [run(f, self.chunk_size, n_components, x, w, aux, start)
                 for (x, w, aux), start in zip(self._blocks(data), self._starts(data), strict=True)]
        step = self._local_step()
        if step is None:
            (total,) = dask.compute(tree_sum(parts, self.split_every))
            return total
        # added as they come, so the client holds ``step`` blocks' results, not every block's
        total = None
        for i in range(0, len(parts), step):
            outs = dask.compute(*parts[i:i + step])
            total = _add(*outs) if total is None else _add(total, *outs)
        return total

    def map_concat(self, fn: Callable[[Data], np.ndarray], data: Data, n_components: int = 1):
        """Apply ``fn`` to every chunk and concatenate the row-wise results on the client."""
        import dask

        f = self._broadcast(fn)
        run = dask.delayed(_concat_block, pure=False)
        parts = self._compute(
            [run(f, self.chunk_size, n_components, x, w, aux, start)
             for (x, w, aux), start in zip(self._blocks(data), self._starts(data), strict=True)]
        )
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def map_blocks_offset(self, fn: Callable[[Data, int], object], data: Data) -> list:
        """``fn(block, first_row)`` for every row block, results in block order."""
        import dask

        f = self._broadcast(fn)
        run = dask.delayed(_offset_block, pure=False)
        starts = np.cumsum((0,) + tuple(persist_rows(data.X, persist=False).chunks[0]))
        return self._compute(
            [run(f, int(starts[i]), x, w, aux) for i, (x, w, aux) in enumerate(self._blocks(data))]
        )

    def lazy_rows(self, fn: Callable[[Data], np.ndarray], data: Data, n_components: int,
                  n_columns: int | None, dtype, check: Callable | None = None):
        """Lazy dask array of ``fn`` applied chunk by chunk to every row block.

        Parameters
        ----------
        n_columns : int or None
            Columns of ``fn``'s output; ``None`` for a 1-D output.
        check : callable or None
            ``check(X_block, first_row)`` returns an error message ('' when the
            block is fine); a message is raised as ``ValueError`` when the
            result is computed.

        Returns
        -------
        dask array of shape (n_samples,) or (n_samples, n_columns)
        """
        import dask.array as da

        X = persist_rows(data.X, persist=False)
        rows = tuple(X.chunks[0])
        keys = sorted(data.aux)
        ndims = [np.ndim(data.aux[k]) for k in keys]
        aux = []
        for k, nd in zip(keys, ndims, strict=True):
            a = self._aligned(data.aux[k], rows)
            aux.append(a[:, None] if nd == 1 else a)  # 2-D, so map_blocks aligns rows
        chunk_size = self.chunk_size

        def block(x, f, *a, block_info=None):
            start = int(block_info[0]["array-location"][0][0])
            if check is not None:
                msg = check(np.asarray(x), start)
                if msg:
                    raise ValueError(msg)
            side = {k: (v[:, 0] if nd == 1 else v) for k, nd, v in zip(keys, ndims, a, strict=True)}
            return _concat_block(f, chunk_size, n_components, x, None, side, start)

        f = self._broadcast(fn)
        if n_columns is None:
            return da.map_blocks(block, X, f, *aux, drop_axis=1, chunks=(rows,), dtype=dtype)
        return da.map_blocks(block, X, f, *aux, chunks=(rows, (n_columns,)), dtype=dtype)

    @staticmethod
    def _aligned(arr, rows):
        import dask.array as da

        if is_dask_array(arr):
            return arr.rechunk((rows,) + tuple(-1 for _ in arr.shape[1:]))
        return da.from_array(np.asarray(arr), chunks=(rows,) + arr.shape[1:])
