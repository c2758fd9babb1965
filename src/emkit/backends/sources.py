"""Out-of-core sources as lazy dask arrays: Parquet datasets and memory-mapped ``.npy``.

Nothing is read when a source is opened beyond file metadata (Parquet
footers, the ``.npy`` header); every row block is read when a pass needs it,
so memory stays bounded by the blocks in flight.  A Parquet block is one row
group of one file; a ``.npy`` block is ``chunk_rows`` rows of the memory map.
"""

from __future__ import annotations

import functools
import glob
import os

import numpy as np

from .._table_binary import (
    _check_numeric_dtype,
    _check_numeric_field,
    _float_column,
    _parquet_file,
    _pyarrow,
)
from .._table_common import DataError, _resolve_columns

#: rows per block of a memory-mapped .npy file when none is asked for
DEFAULT_CHUNK_ROWS = 262_144
#: .npy files at least this large are memory-mapped and read in chunks
CHUNKED_NPY_BYTES = 256 * 2**20


def is_parquet_dataset(path: str) -> bool:
    """True for a directory or a glob pattern (Parquet files read in row groups)."""
    return os.path.isdir(path) or glob.has_magic(path)


def wants_chunks(path: str, chunk_rows: int | None) -> bool:
    """Whether ``path`` is read in chunks: a dataset, or a .npy/Parquet file when asked or large."""
    if path == "-":
        return False
    if is_parquet_dataset(path):
        return True
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npy", ".parquet", ".pq") or not os.path.isfile(path):
        return False
    return chunk_rows is not None or (ext == ".npy" and os.path.getsize(path) >= CHUNKED_NPY_BYTES)


def open_chunked(path: str, columns=None, chunk_rows: int | None = None):
    """A lazy dask array of the kept columns of ``path`` and their names.

    Parameters
    ----------
    path : str
        A directory of ``.parquet``/``.pq`` files (searched recursively), a
        glob pattern of Parquet files, a Parquet file or a ``.npy`` file.
    columns : sequence of str or int, default=None
        As in :func:`emkit.io.read_table`.
    chunk_rows : int or None
        Rows per block of a ``.npy`` file.

    Returns
    -------
    X : dask array of shape (n_rows, n_columns), float64
    names : list of str

    Raises
    ------
    DataError
        No files; a file whose columns differ from the first file's (named);
        non-numeric columns; an unreadable file.
    """
    if not is_parquet_dataset(path) and os.path.splitext(path)[1].lower() == ".npy":
        return _open_npy(path, columns, chunk_rows or DEFAULT_CHUNK_ROWS)
    return _open_parquet(_parquet_files(path), path, columns)


def _parquet_files(path: str) -> list[str]:
    if os.path.isdir(path):
        files = [f for ext in ("parquet", "pq")
                 for f in glob.glob(os.path.join(path, "**", f"*.{ext}"), recursive=True)]
    elif glob.has_magic(path):
        files = [f for f in glob.glob(path, recursive=True) if os.path.isfile(f)]
    else:
        files = [path]
    if not files:
        what = "is a directory with" if os.path.isdir(path) else "matches"
        raise DataError(f"{path}: {what} no Parquet files (.parquet, .pq); give a data file, "
                        "or a directory or glob of Parquet files")
    return sorted(files)


def _read_group(file: str, group: int, names: list[str]) -> np.ndarray:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(file).read_row_group(group, columns=names)
    out = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = _float_column(table.column(name))
    return out


def _open_parquet(files: list[str], path: str, columns):
    _pyarrow(path)
    import dask
    import dask.array as da

    first_names = None
    blocks = []
    for f in files:
        meta, schema = _parquet_file(f, f)
        names = list(schema.names)
        if first_names is None:
            first_names = names
            usecols = _resolve_columns(columns, names, f)
            keep = names if usecols is None else [names[i] for i in usecols]
            for name in keep:
                _check_numeric_field(schema, name, f)
        elif names != first_names:
            raise DataError(
                f"{f}: its columns ({', '.join(names)}) differ from those of {files[0]} "
                f"({', '.join(first_names)}); every file of a Parquet dataset needs the same columns"
            )
        read = dask.delayed(_read_group, pure=True)
        for g in range(meta.metadata.num_row_groups):
            rows = meta.metadata.row_group(g).num_rows
            if rows:
                blocks.append(da.from_delayed(read(f, g, keep), shape=(rows, len(keep)),
                                              dtype=np.float64))
    if not blocks:
        raise DataError(f"{path}: the Parquet dataset has no rows")
    return (blocks[0] if len(blocks) == 1 else da.concatenate(blocks, axis=0)), keep


def _npy_block(path: str, block_info=None) -> np.ndarray:
    """Rows of one block of a .npy file, read through a memory map (2-D)."""
    (start, stop), _ = block_info[None]["array-location"]
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return np.array((arr[:, None] if arr.ndim == 1 else arr)[start:stop])


def _open_npy(path: str, columns, chunk_rows: int):
    import dask.array as da

    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DataError(f"{path}: expected a non-empty 2-D array, got shape {arr.shape}")
    _check_numeric_dtype(arr.dtype, path, "the array")
    names = [str(j) for j in range(arr.shape[1])]
    usecols = _resolve_columns(columns, names, path)
    # blocks read from the file by the task that uses them: dask's from_array would copy the
    # memory map (np.memmap.copy reads the whole file into memory)
    n = arr.shape[0]
    rows = tuple(min(int(chunk_rows), n - s) for s in range(0, n, int(chunk_rows)))
    X = da.map_blocks(functools.partial(_npy_block, path), chunks=(rows, (arr.shape[1],)),
                      dtype=arr.dtype, meta=np.empty((0, 0), dtype=arr.dtype))
    if usecols is not None:
        X = X[:, usecols]
        names = [names[i] for i in usecols]
    return X.astype(np.float64), names
