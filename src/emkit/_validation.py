"""Input checks that say what is wrong, where, and what to do."""

from __future__ import annotations

import numbers

import numpy as np

_CHECK_ROWS = 1 << 16


def first_nonfinite(X: np.ndarray):
    """``(row, column, value, count)`` of the first NaN/inf in ``X``, or None.

    Scans ``X`` in blocks of rows, so a memory-mapped array is never turned
    into a full-size temporary.
    """
    X2 = X.reshape(X.shape[0], -1)
    first = None
    count = 0
    for start in range(0, X2.shape[0], _CHECK_ROWS):
        block = np.asarray(X2[start:start + _CHECK_ROWS])
        bad = ~np.isfinite(block)
        n_bad = int(np.count_nonzero(bad))
        if n_bad and first is None:
            row, col = divmod(int(np.flatnonzero(bad.ravel())[0]), block.shape[1])
            first = (start + row, col, block[row, col])
        count += n_bad
    if first is None:
        return None
    return (*first, count)


def check_finite(X: np.ndarray, name: str = "X", row_offset: int = 0) -> None:
    """Raise ValueError naming the first NaN or inf cell of ``X``.

    ``row_offset`` is added to the reported row (for a block of a larger array).
    """
    if X.dtype.kind not in "fc":
        return
    found = first_nonfinite(X)
    if found is None:
        return
    row, col, value, count = found
    row += row_offset
    kind = "NaN" if np.isnan(value) else "inf"
    raise ValueError(
        f"{name} contains {kind} (and {count} non-finite cell{'s' if count != 1 else ''} in all; "
        f"first at row {row}, column {col}); remove or impute missing values before fitting"
    )


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """Validated float64 weights of shape (n_samples,); ones when None."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numeric: {exc}") from None
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {w.shape}, but X has {n_samples} rows: pass one "
            f"weight per row, shape ({n_samples},)"
        )
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise ValueError(
            f"sample_weight contains {'NaN' if np.isnan(w[bad[0]]) else 'inf'} at row {bad[0]}; "
            "weights must be finite and non-negative"
        )
    neg = np.flatnonzero(w < 0)
    if neg.size:
        raise ValueError(
            f"sample_weight must be non-negative; row {neg[0]} has weight {w[neg[0]]:g}"
        )
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero for every row; at least one row needs a positive weight")
    return w


def check_int_param(value, name: str, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_float_param(value, name: str, low: float = 0.0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < low:
        raise ValueError(f"{name} must be a finite number >= {low:g}, got {value!r}")


def check_choice(value, name: str, choices) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}"
        )


def non_numeric_cell(X):
    """Where a table-like ``X`` holds a value that is not a number, as a message, or None.

    For a pandas DataFrame (or anything with ``columns`` and ``iloc``) the
    message names the column, its dtype, the row label and the value; for
    other array-likes of strings, the cell ``X[i, j]``.  Only called after a
    conversion to float failed, so its cost does not matter.
    """
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        for j, name in enumerate(columns):
            col = X.iloc[:, j]
            if col.dtype.kind in "biufc":
                continue
            for i, value in enumerate(col.tolist()):
                if not _is_number(value):
                    return (f"column {str(name)!r} (dtype {col.dtype}) has a value that is not a "
                            f"number: {value!r} in the row labelled {X.index[i]!r} (row {i + 1} "
                            f"of the table); convert the column to numbers, for example with "
                            f"pandas.to_numeric(df[{str(name)!r}], errors='coerce') (then "
                            "drop or fill the NaN rows), or drop it")
        return None
    try:
        arr = np.asarray(X, dtype=object)
    except Exception:  # noqa: BLE001 - an array-like numpy cannot even hold: leave the original error
        return None
    if arr.ndim != 2:
        return None
    for (i, j), value in np.ndenumerate(arr):
        if not _is_number(value):
            return f"X[{i}, {j}] = {value!r} (row {i}, column {j}) is not a number"
    return None


def _is_number(value) -> bool:
    if isinstance(value, (numbers.Number, np.number)) and not isinstance(value, bool | np.bool_):
        return True
    if isinstance(value, (bool, np.bool_)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
