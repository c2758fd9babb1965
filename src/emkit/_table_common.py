"""What every table reader shares: the error class, missing-value tokens and column selection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Cells (compared case-insensitively, after stripping blanks) read as missing.
_MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none")


class DataError(ValueError):
    """The input table cannot be read as numeric data.

    The message is a single line saying what is wrong and where.
    """


class DroppedRowsWarning(UserWarning):
    """Rows with missing, NaN or infinite cells were dropped (``drop_missing=True``)."""


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
