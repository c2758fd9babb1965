"""Text columns of a table ("red", "green") as category codes, with their labels.

:func:`emkit.io.read_labelled_table` reads a table whose columns may hold
text.  Every text column becomes integer codes ``0 .. L-1`` in a float array
(NaN where a cell is missing), its ``L`` labels sorted, so that the codes of
two distinct labels are 0 and 1 (a Bernoulli column) and those of more are
categories.  Given the labels a model was fitted with, a column is coded with
exactly those labels, and a label the model never saw is an error naming it,
its column and its row (or, with ``unknown="missing"``, a missing cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._table_common import DataError

#: what a label unseen when the labels were fixed means
UNKNOWN = ("error", "missing")


@dataclass(frozen=True)
class LabelledTable:
    """A table read by :func:`emkit.io.read_labelled_table`.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_columns), dtype float64
        Numbers as read; a text column holds the code of each cell's label
        (its index in ``levels[name]``), NaN where the cell is missing.
    names : list of str
        Column names, length ``n_columns``.
    levels : dict of str to tuple of str
        The labels of every text column, in code order.
    text : dict of str to ndarray of shape (n_rows,)
        The cells of every text column as read (object arrays of str, None
        where missing), for columns carried along unencoded (row ids), and
        of the columns asked for ``as_written``.
    """

    X: np.ndarray
    names: list
    levels: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)


def check_levels(levels, where: str) -> tuple[str, ...]:
    """``levels`` as a tuple of distinct non-empty strings; ValueError naming ``where`` otherwise."""
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (Sequence, np.ndarray)):
        raise ValueError(f"{where} must be a list of labels, got {type(levels).__name__}")
    out = tuple(levels)
    if not out:
        raise ValueError(f"{where} is empty; a text column needs at least one label")
    for label in out:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{where} holds {label!r}; labels must be non-empty strings")
    if len(set(out)) != len(out):
        seen = [x for i, x in enumerate(out) if x in out[:i]]
        raise ValueError(f"{where} names the label {seen[0]!r} twice")
    return out


def encode_column(cells: np.ndarray, name: str, src: str, levels=None, unknown: str = "error",
                  row_of=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes of one text column and its labels.

    Parameters
    ----------
    cells : ndarray of shape (n_rows,), dtype object
        Strings, None where missing.
    name, src : str
        The column and the file, for messages.
    levels : sequence of str, optional
        The labels to code with (a fitted model's); default: the column's
        distinct labels, sorted.
    unknown : {"error", "missing"}, default="error"
        A label not in ``levels``: a :class:`~emkit.io.DataError` naming it,
        or a missing cell (NaN).
    row_of : callable, optional
        Data-row index -> file row number, for messages (default: index + 1).

    Returns
    -------
    codes : ndarray of shape (n_rows,), dtype float64
    levels : tuple of str
    """
    observed = np.array([c is not None for c in cells], dtype=bool)
    values = np.asarray(cells[observed], dtype=str)
    if levels is None:
        labels = tuple(str(v) for v in np.unique(values))
    else:
        labels = tuple(levels)
    lookup = {label: i for i, label in enumerate(labels)}
    coded = np.fromiter((lookup.get(v, -1) for v in values), dtype=np.int64, count=values.size)
    codes = np.full(cells.shape[0], np.nan)
    codes[observed] = coded
    unseen = np.flatnonzero(observed)[coded < 0]
    if unseen.size:
        if unknown == "missing":
            codes[unseen] = np.nan
        else:
            i = int(unseen[0])
            row = int(row_of(i)) if row_of is not None else i + 1
            distinct = sorted({str(cells[r]) for r in unseen})
            more = f" (and {len(distinct) - 1} more unseen label(s))" if len(distinct) > 1 else ""
            raise DataError(
                f"{src}: category {cells[i]!r} in column {name!r}, row {row}{more} is not one of "
                f"the {len(labels)} the model was fitted with ({_shown(labels)}); correct the "
                "cell, or fit with missing='marginalize' and unknown='missing' to treat an "
                "unseen category as a missing cell"
            )
    return codes, labels


def encode_table(X: np.ndarray, names: list, text: dict, src: str,
                 levels: Mapping | None = None, unknown: str = "error", row_of=None):
    """Fill the text columns of ``X`` (in place) with codes.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_columns)
    names : list of str
    text : dict of int to ndarray
        The text columns' cells by column index (from the readers).
    levels : mapping of str to sequence of str, optional
        Fixed labels by column name; a column named here must be a text
        column.
    unknown : {"error", "missing"}
    row_of : callable, optional

    Returns
    -------
    levels : dict of str to tuple of str
    text : dict of str to ndarray
    """
    fixed = dict(levels or {})
    out_levels, out_text = {}, {}
    for j, name in enumerate(names):
        if j not in text:
            if name in fixed:
                raise DataError(
                    f"{src}: column {name!r} holds numbers, but the model knows it as a text "
                    f"column with the labels {_shown(fixed[name])}"
                )
            continue
        known = fixed.get(name)
        X[:, j], out_levels[name] = encode_column(text[j], name, src, known, unknown, row_of)
        out_text[name] = text[j]
    return out_levels, out_text


def _shown(labels, limit: int = 8) -> str:
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


__all__ = ["LabelledTable", "UNKNOWN", "check_levels", "encode_column", "encode_table"]
