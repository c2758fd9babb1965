"""Scaling out from the command line: a dask cluster for a command, chunked output."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import sys

import numpy as np

from .application import CliError

#: seconds to wait for a --scheduler before giving up
SCHEDULER_TIMEOUT = 5
#: whether the running command is on a dask cluster (set by :func:`cluster`)
_ON_CLUSTER = contextvars.ContextVar("emkit_on_cluster", default=False)
#: --chunk-rows of the running command (set by :func:`scaled`)
_CHUNK_ROWS = contextvars.ContextVar("emkit_chunk_rows", default=None)


def on_cluster() -> bool:
    """True inside :func:`cluster` when a cluster is in use."""
    return _ON_CLUSTER.get()


def scaled(command):
    """Add the data-source options to a command and run it inside :func:`cluster`.

    The command gets ``--delimiter``, ``--decimal`` (kept for
    :func:`~emkit.cli.inputs._read_inputs` by their callbacks),
    ``--workers``, ``--scheduler`` (the cluster) and ``--chunk-rows``
    (:func:`chunk_rows`) after its own options; its body asks
    :func:`on_cluster` and calls :func:`spread` on the data it reads.
    """
    from .options import SCALE_OPTIONS, TEXT_OPTIONS, added_options

    return added_options({**TEXT_OPTIONS, **SCALE_OPTIONS}, use=_scaled_run)(command)


@contextlib.contextmanager
def _scaled_run(workers=None, scheduler=None, chunk_rows=None, **_text):
    token = _CHUNK_ROWS.set(chunk_rows)
    try:
        with cluster(workers, scheduler):
            yield
    finally:
        _CHUNK_ROWS.reset(token)


def chunk_rows() -> int | None:
    """``--chunk-rows`` of the running command (None when not given)."""
    return _CHUNK_ROWS.get()


@contextlib.contextmanager
def cluster(workers: int | None, scheduler: str | None):
    """Run the body on a dask cluster: ``workers`` local processes, or the one at ``scheduler``.

    Yields True when a cluster is in use.  Inside, fits persist their data on
    the cluster; without a cluster, chunked sources are re-read in every pass
    (``emkit.persist`` is False), so memory stays bounded by the chunks.
    """
    if workers is not None and scheduler is not None:
        raise CliError("give either --workers N or --scheduler ADDRESS, not both")
    if workers is None and scheduler is None:
        import dask

        with dask.config.set({"emkit.persist": False}):
            yield False
        return
    try:
        import dask
        from dask import distributed
    except ImportError:
        raise CliError("--workers and --scheduler need dask.distributed: pip install 'emkit[dask]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=True)
            except (OSError, TimeoutError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise CliError(f"--scheduler {scheduler}: cannot reach a dask scheduler within "
                               f"{SCHEDULER_TIMEOUT} s ({first}); check the address and that the "
                               "scheduler is running") from None
        else:
            local = distributed.LocalCluster(n_workers=int(workers), threads_per_worker=1,
                                             processes=True, dashboard_address=":0",
                                             silence_logs=logging.ERROR)
            stack.enter_context(local)
            client = distributed.Client(local)
        stack.enter_context(client)
        stack.enter_context(dask.config.set({"emkit.persist": True}))
        token = _ON_CLUSTER.set(True)
        try:
            yield True
        finally:
            _ON_CLUSTER.reset(token)


def spread(X, use_cluster: bool | None = None):
    """In-memory ``X`` as a dask array in a few blocks per core when a cluster is in use.

    ``use_cluster`` None asks :func:`on_cluster`.
    """
    from ..backends.dask_backend import is_dask_array

    if use_cluster is None:
        use_cluster = on_cluster()
    if not use_cluster or X is None or is_dask_array(X):
        return X
    import dask.array as da
    from dask.distributed import get_client

    cores = max(1, sum(get_client().nthreads().values()))
    rows = max(1, -(-X.shape[0] // (4 * cores)))
    return da.from_array(X, chunks=(rows,) + X.shape[1:])


def write_rows(result, out, proba: bool) -> int:
    """Write predictions block by block to ``out`` (.npy or CSV text with a header) or stdout.

    ``result`` is an array or a lazy dask array; a dask array is computed
    one row block at a time, so memory holds one block of output.  Returns
    the number of rows.
    """
    from .._atomic import atomic_write
    from ..backends.dask_backend import is_dask_array

    def blocks():
        if is_dask_array(result):
            for b in result.to_delayed().ravel():
                yield np.asarray(b.compute())
        else:
            yield np.asarray(result)

    def text(block) -> str:
        if proba:
            lines = [",".join(f"{p:.6g}" for p in row) for row in block]
        else:
            lines = [str(int(v)) for v in block]
        return "\n".join(lines) + ("\n" if lines else "")

    n = int(result.shape[0])
    # the header of `emkit predict`'s CSV: 'label', or a column per component
    header = ",".join([f"component_{k}" for k in range(int(result.shape[1]))] if proba
                      else ["label"]) + "\n"
    if out is None:
        sys.stdout.write(header)
        for block in blocks():
            sys.stdout.write(text(block))
        sys.stdout.flush()
        return n
    if out.suffix.lower() == ".npy":
        dtype = np.dtype(np.float64 if proba else np.int64)

        def write(fh):
            np.lib.format.write_array_header_1_0(
                fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                     "shape": tuple(int(s) for s in result.shape)})
            for block in blocks():
                fh.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
    else:
        def write(fh):
            fh.write(header.encode("utf-8"))
            for block in blocks():
                fh.write(text(block).encode("utf-8"))
    atomic_write(out, write)
    return n
