"""Reading data tables for emkit: CSV (file or stdin), Parquet and ``.npy``.

Every problem with the input is raised as :class:`DataError`, a
``ValueError`` whose message is one readable line naming the file and, where
it applies, the column, the row and the offending value.  Row numbers count
as a text editor does: in a CSV file the header is row 1; in Parquet and
``.npy`` files the first data row is row 1.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from ._sniff import TEXT_EXTENSIONS, from_text, split_extension, text_source
from .exceptions import ModelFileError  # noqa: F401  (lived here before; kept importable)

__all__ = [
    "DataError",
    "DroppedRowsWarning",
    "SUPPORTED_EXTENSIONS",
    "read_table",
]

#: File name endings :func:`read_table` understands (``"-"`` reads CSV on stdin).
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq", ".npy")

# Cells (compared case-insensitively, after stripping blanks) read as missing.
_MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none")


class DataError(ValueError):
    """The input table cannot be read as numeric data.

    The message is a single line saying what is wrong and where.
    """


class DroppedRowsWarning(UserWarning):
    """Rows with missing, NaN or infinite cells were dropped (``drop_missing=True``)."""


# --------------------------------------------------------------------- public
def read_table(path, columns=None, *, drop_missing: bool = False, delimiter: str | None = None,
               decimal: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Read a numeric table from CSV, Parquet or ``.npy`` into a float array.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv``, ``.txt`` or ``.dat`` text (each also
        gzip-compressed, ``.csv.gz``), with or without a header row; ``.parquet``/``.pq`` (needs pyarrow);
        ``.npy`` (loaded without pickle); or ``"-"`` for CSV on standard
        input.  A CSV file has a header when its first non-blank row holds a
        cell that is not a number; without one the columns are named
        ``"0"``, ``"1"``, ...
    columns : sequence of str or int, default=None
        Columns to keep, in this order: names, integer indices (negative
        ones count from the end), or strings of digits read as indices when
        they are not column names.  ``None`` keeps every column.
    delimiter : str, optional
        Of a text table: one character, or ``"tab"``, ``"space"`` (runs of
        blanks); default: sniffed from the first rows (see :mod:`emkit._sniff`).
    decimal : {".", ","}, optional
        The decimal mark of a text table; default: a comma when numbers such
        as ``1,5`` appear and the delimiter is not a comma.
    drop_missing : bool or "keep", default=False
        Drop rows with missing (empty, ``NA``), NaN or infinite cells in the
        kept columns, with a :class:`DroppedRowsWarning` saying how many.
        Without it such cells raise :class:`DataError`; ``"keep"`` keeps
        missing cells as NaN (infinite ones still raise).

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns), dtype float64
    names : list of str
        Names of the kept columns, length ``n_columns``.

    Raises
    ------
    DataError
        Missing, empty or unreadable file; a header without rows; a
        non-numeric cell; missing, NaN or infinite cells (unless
        ``drop_missing``); an unknown column; an unsupported format.
    """
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    if path == "-" or (isinstance(path, bytes) and path == b"-"):
        src = "<stdin>"
        text = _read_stdin()
        fh, sep = _text_or_error(lambda: from_text(text, src, None, delimiter, decimal), src)
        X, names, rows = _read_csv_guarded(fh, src, sep, columns)
        X = _handle_missing(X, names, src, rows, drop_missing)
    else:
        fspath = os.fspath(path)
        if isinstance(fspath, bytes):
            fspath = os.fsdecode(fspath)
        src = fspath
        if os.path.isdir(fspath):
            raise DataError(f"{src}: is a directory, not a data file")
        ext, gz = split_extension(fspath)
        if gz and ext not in TEXT_EXTENSIONS:
            ext = ext + ".gz"
        if ext not in SUPPORTED_EXTENSIONS and ext not in TEXT_EXTENSIONS:
            raise DataError(
                f"{src}: unsupported file type {ext or '(no extension)'!r}; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)} (text ones also as .gz) and '-' "
                "for CSV on stdin"
            )
        if not os.path.exists(fspath):
            raise DataError(f"{src}: no such file")
        if os.path.isdir(fspath):
            raise DataError(f"{src}: is a directory, not a data file")
        if os.path.getsize(fspath) == 0:
            raise DataError(f"{src}: file is empty")
        if ext in TEXT_EXTENSIONS:
            fh, sep = _text_or_error(
                lambda: text_source(fspath, src, ext, gz, delimiter, decimal), src)
            with fh:
                try:
                    X, names, rows = _read_csv_guarded(fh, src, sep, columns)
                    X = _handle_missing(X, names, src, rows, drop_missing)
                except UnicodeDecodeError:
                    raise DataError(f"{src}: not a UTF-8 text file") from None
        elif ext == ".npy":
            X, names = _read_npy(fspath, src, columns)
            X = _handle_missing(X, names, src, None, drop_missing)
        else:
            X, names = _read_parquet(fspath, src, columns)
            X = _handle_missing(X, names, src, None, drop_missing)
    return X, names


def _text_or_error(open_source, src: str):
    """Run :func:`emkit._sniff.text_source` (or ``from_text``), every problem a DataError."""
    try:
        return open_source()
    except UnicodeDecodeError:
        raise DataError(f"{src}: not a UTF-8 text file") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{src}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        message = str(exc)
        raise DataError(message if message.startswith(src) else f"{src}: {message}") from None


def data_row_lines(path, delimiter: str | None = None, decimal: str | None = None) -> np.ndarray | None:
    """1-based file line of every data row that :func:`read_table` reads from ``path``.

    For messages about a row: row ``i`` of the array read from a CSV or TSV
    file is line ``data_row_lines(path)[i]`` of the file (after its header,
    blank lines skipped).  None for other sources (stdin, ``.npy``, Parquet),
    where row ``i`` is the ``i + 1``-th row.
    """
    fspath = os.fsdecode(os.fspath(path)) if path != "-" else "-"
    ext, gz = split_extension(fspath) if fspath != "-" else ("", False)
    if ext not in TEXT_EXTENSIONS or not os.path.isfile(fspath):
        return None
    try:
        fh, delimiter = text_source(fspath, fspath, ext, gz, delimiter, decimal)
        with fh:
            _, first = _next_nonblank(fh)
            cells = next(csv.reader([first], delimiter=delimiter)) if first else []
            header = any(not _is_number(c) and c.strip().lower() not in _MISSING_TOKENS
                         for c in cells)
            fh.seek(0)
            return _csv_row_numbers(fh, delimiter, header)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error, _CSVRecordError):
        return None


# ----------------------------------------------------------------- helpers
def _extension(path: str) -> str:
    name = os.path.basename(path).lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _read_stdin() -> str:
    stream = sys.stdin
    if stream is None:
        raise DataError("<stdin>: standard input is closed")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        raw = buffer.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError("<stdin>: input is not UTF-8 text") from None
    text = stream.read()
    return text[1:] if text.startswith("\ufeff") else text


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _resolve_columns(columns, names: list[str], src: str) -> list[int] | None:
    """Indices of the requested columns, or None for all of them."""
    if columns is None:
        return None
    columns = list(columns)
    if not columns:
        raise DataError(f"{src}: no columns selected")
    lookup = {name: i for i, name in enumerate(names)}
    n = len(names)
    out = []
    for col in columns:
        if isinstance(col, (bool, np.bool_)):
            raise DataError(f"{src}: column {col!r} is neither a name nor an index")
        if isinstance(col, (int, np.integer)):
            idx = int(col)
        elif isinstance(col, str):
            if col in lookup:
                out.append(lookup[col])
                continue
            if col.strip() in lookup:
                out.append(lookup[col.strip()])
                continue
            digits = col.strip()
            if digits.lstrip("-").isdigit():
                idx = int(digits)
            else:
                raise DataError(
                    f"{src}: no column named {col!r}; columns are {_list_names(names)}"
                )
        else:
            raise DataError(f"{src}: column {col!r} is neither a name nor an index")
        if not -n <= idx < n:
            raise DataError(
                f"{src}: column index {idx} is out of range for {n} column(s) "
                f"({_list_names(names)})"
            )
        out.append(idx % n)
    return out


def _list_names(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return shown


# --------------------------------------------------------------------- CSV
def _next_nonblank(fh) -> tuple[int, str]:
    """Position before, and text of, the next non-blank line ('' at the end)."""
    while True:
        pos = fh.tell()
        line = fh.readline()
        if line == "":
            return pos, ""
        if line.strip():
            return pos, line


def _read_csv_guarded(fh, src: str, delimiter: str, columns):
    """:func:`_read_csv` with every error of the csv module and the parser as DataError."""
    try:
        return _read_csv(fh, src, delimiter, columns)
    except _CSVRecordError as exc:
        raise DataError(f"{src}: row {exc.line}: {exc}") from None
    except csv.Error as exc:
        raise DataError(f"{src}: malformed CSV ({_csv_error(exc, 0)})") from None
    except (OverflowError, MemoryError) as exc:
        raise DataError(f"{src}: cannot parse the table ({type(exc).__name__}: {exc})") from None


def _read_csv(fh, src: str, delimiter: str, columns):
    """Parse CSV text from a seekable text stream.

    Returns X, names and a callable mapping data-row indices to file row
    numbers (computed only when asked, for error messages).
    """
    start, first = _next_nonblank(fh)
    if not first:
        raise DataError(f"{src}: file is empty (no rows)")
    if first.count('"') % 2:
        raise DataError(
            f"{src}: unterminated quote in the first row ({first.strip()[:60]!r}); "
            "close the quote or remove the stray '\"'"
        )
    first_cells = next(csv.reader([first], delimiter=delimiter))
    if delimiter == "," and ";" in re.sub(r'"[^"]*"', "", first):  # a ';' outside quotes
        raise DataError(
            f"{src}: the first row is ';'-separated ({first.strip()[:60]!r}), probably with "
            "decimal commas, but it is read as ','-separated; leave the delimiter to be "
            "sniffed or give delimiter=';' and decimal=',' (--delimiter ';' --decimal ',')"
        )
    header = any(
        not _is_number(c) and c.strip().lower() not in _MISSING_TOKENS for c in first_cells
    )
    if header:
        names = [c.strip() for c in first_cells]
        data_start, nxt = _next_nonblank(fh)
        if not nxt:
            raise DataError(
                f"{src}: has a header row ({_list_names(names, 8)}) but no data rows"
            )
    else:
        names = [str(i) for i in range(len(first_cells))]
        data_start = start
    ncols = len(names)
    usecols = _resolve_columns(columns, names, src)
    kept = names if usecols is None else [names[i] for i in usecols]
    X = None
    for converters in (None, _float_or_missing):
        fh.seek(data_start)
        try:
            X = np.loadtxt(
                fh, delimiter=delimiter, dtype=np.float64, comments=None, quotechar='"',
                ndmin=2, usecols=usecols, converters=converters,
            )
        except ValueError:
            X = None
            continue
        if X.shape[1] == len(kept):
            break
        X = None  # a header naming more or fewer columns than the rows hold
    if X is None:
        # raises at the first ragged row or bad cell; if there is none (say,
        # whitespace-only lines that loadtxt counts as rows) it parses the rows
        fh.seek(0)
        X = _parse_csv_careful(fh, src, delimiter, header, ncols, usecols, kept)

    def row_numbers() -> np.ndarray:
        fh.seek(0)
        try:
            return _csv_row_numbers(fh, delimiter, header)
        except _CSVRecordError as exc:
            raise DataError(f"{src}: row {exc.line}: {exc}") from None

    return np.ascontiguousarray(X), kept, row_numbers


def _csv_records(fh, delimiter: str, header: bool):
    """Yield (file row number, cells) for every non-blank data record."""
    reader = csv.reader(fh, delimiter=delimiter)
    seen_header = not header
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, reader.line_num) from None
        if not record or all(not c.strip() for c in record) and len(record) <= 1:
            continue
        if not seen_header:
            seen_header = True
            continue
        yield reader.line_num, record


class _CSVRecordError(Exception):
    """A csv module error at a known row, turned into DataError with the file name."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def _csv_error(exc, line: int) -> _CSVRecordError:
    message = str(exc)
    if "field larger than field limit" in message:
        message = (f"a cell longer than the CSV field limit of {csv.field_size_limit():,} characters; "
                   "check for an unclosed quote or split the cell")
    return _CSVRecordError(message, line)


def _csv_row_numbers(fh, delimiter: str, header: bool) -> np.ndarray:
    return np.fromiter(
        (line for line, _ in _csv_records(fh, delimiter, header)), dtype=np.int64
    )


def _float_or_missing(cell: str) -> float:
    """loadtxt converter: a number, or NaN for a missing-value token."""
    try:
        return float(cell)
    except ValueError:
        if cell.strip().lower() in _MISSING_TOKENS:
            return np.nan
        raise


def _parse_csv_careful(fh, src, delimiter, header, ncols, usecols, kept) -> np.ndarray:
    """Parse record by record; raise DataError at the first ragged row or bad cell."""
    idx = list(range(ncols)) if usecols is None else usecols
    pairs = list(zip(idx, kept, strict=True))
    rows = []
    for line, record in _csv_records(fh, delimiter, header):
        if len(record) != ncols:
            where = "the header" if header else "the first row"
            raise DataError(
                f"{src}: row {line} has {len(record)} cell(s) but {where} has {ncols}"
            )
        row = []
        for j, name in pairs:
            try:
                row.append(_float_or_missing(record[j]))
            except ValueError:
                raise DataError(
                    f"{src}: non-numeric value {record[j]!r} in column {name!r}, row {line}"
                ) from None
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(idx))


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


def _read_parquet(path: str, src: str, columns):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{src}: reading Parquet needs pyarrow; install it with pip install 'emkit[parquet]'"
        ) from None
    try:
        pfile = pq.ParquetFile(path)
        schema = pfile.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{src}: not a readable Parquet file ({exc})") from None
    names = list(schema.names)
    if not names:
        raise DataError(f"{src}: Parquet file has no columns")
    usecols = _resolve_columns(columns, names, src)
    idx = list(range(len(names))) if usecols is None else usecols
    for i in idx:
        t = schema.field(i).type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_decimal(t)):
            raise DataError(
                f"{src}: column {names[i]!r} has type {t}, not a number"
            )
    try:
        table = pfile.read(columns=[names[i] for i in dict.fromkeys(idx)])
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{src}: cannot read Parquet data ({exc})") from None
    if table.num_rows == 0:
        raise DataError(f"{src}: Parquet file has no rows")
    X = np.empty((table.num_rows, len(idx)), dtype=np.float64)
    for j, i in enumerate(idx):
        chunked = table.column(names[i])
        col = chunked.cast(pa.float64()) if not pa.types.is_float64(chunked.type) else chunked
        X[:, j] = col.to_numpy(zero_copy_only=False)  # nulls become NaN
    return X, [names[i] for i in idx]


# ------------------------------------------------------------------ missing
def _handle_missing(X: np.ndarray, names: list[str], src: str, rows, drop_missing):
    finite = np.isfinite(X)
    if drop_missing == "keep":  # missing cells stay NaN for the model to integrate out
        finite = ~np.isinf(X)
        drop_missing = False
    if finite.all():
        return X
    bad_rows = ~finite.all(axis=1)
    n_bad_rows = int(bad_rows.sum())
    n_rows = X.shape[0]
    if drop_missing:
        if n_bad_rows == n_rows:
            raise DataError(
                f"{src}: every one of the {n_rows} rows has a missing, NaN or infinite cell; "
                "no rows left after dropping them"
            )
        warnings.warn(
            f"{src}: dropped {n_bad_rows} of {n_rows} rows with missing, NaN or infinite cells",
            DroppedRowsWarning,
            stacklevel=3,
        )
        return np.ascontiguousarray(X[~bad_rows])
    n_bad = int((~finite).sum())
    r, c = np.argwhere(~finite)[0]
    row = f"row {int(r) + 1}"
    if rows is not None:
        lines = rows()
        # whitespace-only lines can make loadtxt and the csv module disagree on
        # what counts as a row; then fall back to counting data rows
        row = f"row {int(lines[r])}" if len(lines) == n_rows else f"data row {int(r) + 1}"
    value = X[r, c]
    what = "missing or NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    raise DataError(
        f"{src}: {n_bad} cell(s) in {n_bad_rows} row(s) are missing, NaN or infinite; the first "
        f"is in column {names[c]!r}, {row} ({what}); drop such rows with drop_missing=True "
        "(--drop-missing on the command line)"
    )
