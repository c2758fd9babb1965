"""Reading data tables for emkit: CSV (file or stdin), Parquet and ``.npy``.

Every problem with the input is raised as :class:`DataError`, a
``ValueError`` whose message is one readable line naming the file and, where
it applies, the column, the row and the offending value.  Row numbers count
as a text editor does: in a CSV file the header is row 1; in Parquet and
``.npy`` files the first data row is row 1.
"""

from __future__ import annotations

import csv
import os
import sys
import warnings

import numpy as np

from ._sniff import TEXT_EXTENSIONS, from_text, split_extension, text_source
from ._table_binary import _read_npy, _read_parquet
from ._table_labels import UNKNOWN, LabelledTable
from ._table_common import _MISSING_TOKENS, DataError, DroppedRowsWarning, _is_number
from ._table_csv import _CSVRecordError, _csv_row_numbers, _next_nonblank, _read_csv_guarded
from .exceptions import ModelFileError  # noqa: F401  (lived here before; kept importable)

__all__ = [
    "DataError",
    "DroppedRowsWarning",
    "SUPPORTED_EXTENSIONS",
    "LabelledTable",
    "read_labelled_table",
    "read_table",
]

#: File name endings :func:`read_table` understands (``"-"`` reads CSV on stdin).
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq", ".npy")


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
    src = _source_name(path)

    def finish(X, names, rows):
        return _handle_missing(X, names, src, rows, drop_missing)[0], names

    return _read_raw(path, columns, delimiter, decimal, None, finish)


def read_labelled_table(path, columns=None, *, levels=None, unknown: str = "error",
                        drop_missing: bool = False, delimiter: str | None = None,
                        decimal: str | None = None, as_written=()) -> LabelledTable:
    """Read a table whose columns may hold text labels ("red", "green").

    Numeric columns are read as by :func:`read_table`.  A column whose
    observed cells are all non-numeric (text files; string columns of
    Parquet files) is a text column: its cells become the codes ``0 .. L-1``
    of its ``L`` labels, sorted (two labels: 0 and 1), and missing cells are
    NaN.  A column mixing numbers and text is an error naming its first text cell.  A text
    file with text columns needs a header row.

    Parameters
    ----------
    path, columns, drop_missing, delimiter, decimal
        As for :func:`read_table`.
    levels : mapping of str to sequence of str, optional
        The labels a model was fitted with, by column name: those columns
        are coded with exactly these labels (and must be text columns).
    unknown : {"error", "missing"}, default="error"
        A label not in ``levels``: :class:`DataError` naming the label, the
        column and the row, or a missing cell (NaN).
    as_written : sequence of str, default=()
        Names of columns whose cells ``text`` also holds as written in a
        text file, numbers included (an id ``00123`` stays ``"00123"``); their
        values in ``X`` are read as usual.

    Returns
    -------
    table : emkit._table_labels.LabelledTable
        ``X`` of shape (n_rows, n_columns), ``names``, the text columns'
        ``levels`` and their raw cells ``text`` (rows dropped with
        ``drop_missing`` are left out of both ``X`` and ``text``).

    Raises
    ------
    DataError
        As :func:`read_table`, and for an unseen label (``unknown="error"``).
    """
    from ._table_labels import check_levels, encode_table

    if unknown not in UNKNOWN:
        raise ValueError(f"unknown must be one of {UNKNOWN}, got {unknown!r}")
    fixed = {str(k): check_levels(v, f"levels[{k!r}]") for k, v in (levels or {}).items()}
    raw_text: dict = {}
    written = dict.fromkeys(as_written)
    src = _source_name(path)

    def finish(X, names, rows):
        def row_of(i: int) -> int:
            lines = rows() if rows is not None else None
            return int(lines[i]) if lines is not None and len(lines) == X.shape[0] else i + 1

        out_levels, text = encode_table(X, names, raw_text, src, fixed, unknown, row_of)
        for name, cells in written.items():
            if cells is not None and name not in text:
                text[name] = cells
        X, kept = _handle_missing(X, names, src, rows, drop_missing)
        if kept is not None:
            text = {k: v[kept] for k, v in text.items()}
        return LabelledTable(X, names, out_levels, text)

    return _read_raw(path, columns, delimiter, decimal, raw_text, finish, written)


def _source_name(path) -> str:
    if path == "-" or (isinstance(path, bytes) and path == b"-"):
        return "<stdin>"
    fspath = os.fspath(path)
    return os.fsdecode(fspath) if isinstance(fspath, bytes) else fspath


def _read_raw(path, columns, delimiter, decimal, text, finish, written=None):
    """``finish(X, names, rows)`` on the table read, while a text file is still open.

    ``rows`` maps data rows to file rows (text files; else None); ``text``,
    when a dict, is filled with the text columns' cells, and ``written``
    with the cells as written of the columns it names (see
    :func:`emkit._table_csv._read_csv`).
    """
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    src = _source_name(path)
    if src == "<stdin>":
        raw = _read_stdin()
        fh, sep = _text_or_error(lambda: from_text(raw, src, None, delimiter, decimal), src)
        return finish(*_read_csv_guarded(fh, src, sep, columns, text, written))
    fspath = src
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
                return finish(*_read_csv_guarded(fh, src, sep, columns, text, written))
            except UnicodeDecodeError:
                raise DataError(f"{src}: not a UTF-8 text file") from None
    if ext == ".npy":
        return finish(*_read_npy(fspath, src, columns), None)
    return finish(*_read_parquet(fspath, src, columns, text), None)


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


# ------------------------------------------------------------------ missing
def _handle_missing(X: np.ndarray, names: list[str], src: str, rows, drop_missing):
    finite = np.isfinite(X)
    if drop_missing == "keep":  # missing cells stay NaN for the model to integrate out
        finite = ~np.isinf(X)
        drop_missing = False
    if finite.all():
        return X, None
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
        return np.ascontiguousarray(X[~bad_rows]), ~bad_rows
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
