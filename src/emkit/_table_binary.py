"""Reading ``.npy`` and Parquet files into a float array, for :func:`emkit.io.read_table`."""

from __future__ import annotations

import numpy as np

from ._table_common import DataError, _resolve_columns


# --------------------------------------------------------------- npy, parquet
def _read_npy(path: str, src: str, columns):
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise DataError(f"{src}: cannot open: {exc.strerror or exc}") from None
    if magic != b"\x93NUMPY":
        raise DataError(f"{src}: not a readable .npy file (no NumPy header)")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode=None)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                f"{src}: holds an object array, which cannot be loaded without pickle; "
                "save a numeric array instead"
            ) from None
        raise DataError(f"{src}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{src}: not a readable .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{src}: not a .npy array file")
    if arr.dtype.names:
        names = list(arr.dtype.names)
        fields = [arr[n] for n in names]
        for name, f in zip(names, fields, strict=True):
            _check_numeric_dtype(f.dtype, src, f"field {name!r}")
            if f.ndim != 1:
                raise DataError(f"{src}: field {name!r} is not a scalar column")
        arr = np.column_stack([f.astype(np.float64) for f in fields]) if fields else arr
    else:
        _check_numeric_dtype(arr.dtype, src, "array")
        if arr.ndim == 1:
            arr = arr[:, None]
        elif arr.ndim != 2:
            raise DataError(f"{src}: array has {arr.ndim} dimensions; expected 1 or 2")
        names = [str(i) for i in range(arr.shape[1])]
    if arr.shape[0] == 0:
        raise DataError(f"{src}: array has no rows")
    usecols = _resolve_columns(columns, names, src)
    if usecols is not None:
        arr = arr[:, usecols]
        names = [names[i] for i in usecols]
    return np.ascontiguousarray(arr, dtype=np.float64), names


def _check_numeric_dtype(dtype: np.dtype, src: str, what: str) -> None:
    if dtype.kind not in "biuf":
        kind = {"O": "object", "U": "string", "S": "bytes", "c": "complex"}.get(dtype.kind, str(dtype))
        raise DataError(f"{src}: {what} has {kind} dtype ({dtype}); expected numbers")


def _is_text_type(pa, t) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _pyarrow(src: str):
    """``pyarrow`` and ``pyarrow.parquet``, or a DataError saying how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{src}: reading Parquet needs pyarrow; install it with pip install 'emkit[parquet]'"
        ) from None
    return pa, pq


def _parquet_file(path: str, src: str):
    """The open ``pyarrow.parquet.ParquetFile`` at ``path`` (footer only) and its Arrow schema."""
    pa, pq = _pyarrow(src)
    try:
        pfile = pq.ParquetFile(path)
        return pfile, pfile.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{src}: not a readable Parquet file ({exc})") from None


def _check_numeric_field(schema, name: str, src: str) -> None:
    """DataError unless column ``name`` of the Arrow ``schema`` holds numbers (or booleans)."""
    pa, _ = _pyarrow(src)
    t = schema.field(name).type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_decimal(t)):
        raise DataError(f"{src}: column {name!r} has type {t}, not a number")


def _float_column(column) -> np.ndarray:
    """An Arrow column as float64 NumPy values, nulls as NaN."""
    import pyarrow as pa

    if not pa.types.is_float64(column.type):
        column = column.cast(pa.float64())
    return column.to_numpy(zero_copy_only=False)


def _read_parquet(path: str, src: str, columns, text: dict | None = None):
    """Read the chosen columns as float64; with a dict ``text``, string columns go there
    (object arrays of strings, None where null; their cells of X are NaN)."""
    pa, _ = _pyarrow(src)
    pfile, schema = _parquet_file(path, src)
    names = list(schema.names)
    if not names:
        raise DataError(f"{src}: Parquet file has no columns")
    usecols = _resolve_columns(columns, names, src)
    idx = list(range(len(names))) if usecols is None else usecols
    for i in idx:
        if not (text is not None and _is_text_type(pa, schema.field(i).type)):
            _check_numeric_field(schema, names[i], src)
    try:
        table = pfile.read(columns=[names[i] for i in dict.fromkeys(idx)])
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{src}: cannot read Parquet data ({exc})") from None
    if table.num_rows == 0:
        raise DataError(f"{src}: Parquet file has no rows")
    X = np.empty((table.num_rows, len(idx)), dtype=np.float64)
    for j, i in enumerate(idx):
        chunked = table.column(names[i])
        if text is not None and _is_text_type(pa, chunked.type):
            cells = np.empty(table.num_rows, dtype=object)
            cells[:] = [None if v is None or not v.strip() else v.strip()
                        for v in chunked.to_pylist()]
            text[j] = cells
            X[:, j] = np.nan
            continue
        X[:, j] = _float_column(chunked)
    return X, [names[i] for i in idx]
