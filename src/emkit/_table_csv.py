"""Reading CSV text (file or stdin) into a float array, for :func:`emkit.io.read_table`."""

from __future__ import annotations

import csv
import re

import numpy as np

from ._table_common import _MISSING_TOKENS, DataError, _is_number, _list_names, _resolve_columns


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


def _read_csv_guarded(fh, src: str, delimiter: str, columns, text: dict | None = None,
                      written: dict | None = None):
    """:func:`_read_csv` with every error of the csv module and the parser as DataError."""
    try:
        return _read_csv(fh, src, delimiter, columns, text, written)
    except _CSVRecordError as exc:
        raise DataError(f"{src}: row {exc.line}: {exc}") from None
    except csv.Error as exc:
        raise DataError(f"{src}: malformed CSV ({_csv_error(exc, 0)})") from None
    except (OverflowError, MemoryError) as exc:
        raise DataError(f"{src}: cannot parse the table ({type(exc).__name__}: {exc})") from None


def _read_csv(fh, src: str, delimiter: str, columns, text: dict | None = None,
              written: dict | None = None):
    """Parse CSV text from a seekable text stream.

    Returns X, names and a callable mapping data-row indices to file row
    numbers (computed only when asked, for error messages).  With a dict
    ``text``, a column whose observed cells are all non-numeric is a text
    column: ``text[j]`` (j its index among the kept columns) gets its cells
    as an object array of stripped strings (None where missing) and its
    cells of X are NaN; otherwise a non-numeric cell is an error.  With a
    dict ``written``, every kept column named by one of its keys gets its
    cells as written there too (the same kind of array; ``00123`` stays
    ``"00123"``), numbers or not.
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
        X = _parse_csv_careful(fh, src, delimiter, header, ncols, usecols, kept, text)
    for name in written or ():
        if name in kept:
            j = kept.index(name) if usecols is None else usecols[kept.index(name)]
            fh.seek(0)
            cells = [_cell_text(record[j]) for _, record in _csv_records(fh, delimiter, header)]
            if len(cells) == X.shape[0]:
                written[name] = np.empty(len(cells), dtype=object)
                written[name][:] = cells

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


def _cell_text(cell: str) -> str | None:
    """A cell as written, stripped; None for a missing-value token."""
    c = cell.strip()
    return None if c.lower() in _MISSING_TOKENS else c


def _float_or_missing(cell: str) -> float:
    """loadtxt converter: a number, or NaN for a missing-value token."""
    try:
        return float(cell)
    except ValueError:
        if cell.strip().lower() in _MISSING_TOKENS:
            return np.nan
        raise


def _parse_csv_careful(fh, src, delimiter, header, ncols, usecols, kept, text=None) -> np.ndarray:
    """Parse record by record; raise DataError at the first ragged row or bad cell.

    With a dict ``text`` (see :func:`_read_csv`), non-numeric cells are kept
    as strings and their columns become text columns when every observed
    cell is non-numeric; a column mixing numbers and text is an error naming
    its first non-numeric cell.
    """
    idx = list(range(ncols)) if usecols is None else usecols
    pairs = list(zip(idx, kept, strict=True))
    rows = []
    raw = [] if text is not None else None
    first_text: dict = {}  # kept column -> (row, cell) of its first non-numeric cell
    first_number: dict = {}  # kept column -> (row, cell) of its first number
    for line, record in _csv_records(fh, delimiter, header):
        if len(record) != ncols:
            where = "the header" if header else "the first row"
            raise DataError(
                f"{src}: row {line} has {len(record)} cell(s) but {where} has {ncols}"
            )
        row = []
        for m, (j, name) in enumerate(pairs):
            try:
                value = _float_or_missing(record[j])
            except ValueError:
                if text is None:
                    raise DataError(
                        f"{src}: non-numeric value {record[j]!r} in column {name!r}, row {line}"
                    ) from None
                first_text.setdefault(m, (line, record[j]))
                value = np.nan
            else:
                if text is not None and not np.isnan(value):
                    first_number.setdefault(m, (line, record[j]))
            row.append(value)
        rows.append(row)
        if raw is not None:
            raw.append([record[j] for j in idx])
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(idx))
    for m, (line, cell) in first_text.items():
        if m in first_number:
            nline, number = first_number[m]
            raise DataError(
                f"{src}: non-numeric value {cell!r} in column {kept[m]!r}, row {line}, a column "
                f"of numbers ({number!r} in row {nline}); correct the cell, or leave it empty "
                "to mark it missing"
            )
        cells = np.empty(len(raw), dtype=object)
        cells[:] = [_cell_text(record[m]) for record in raw]
        text[m] = cells
    return X
