"""Data errors in the command line's words: file, 1-based row and column name.

The library names a bad cell as ``X[i, j]`` (0-based indices into the array it
was given).  The command line read that array from a file, so it says which
file, which row of the file (its 1-based line for CSV/TSV, after the header
and blank lines) and which column by name, the way the file reader does.
"""

import re

from .. import registry

_CELL = re.compile(r"X\[(\d+), (\d+)\](?: = (\S+?))?(?=[\s;,)]|$)")
_INDICES = re.compile(r" \(row \d+, column \d+\)")
#: a bad number of trials, ``n_trials[i, j] = v``, and a negative weight of row ``i``
_TRIALS = re.compile(r"n_trials\[(\d+), \d+\] = (\S+?)(?=[\s;,)]|$)")
_WEIGHT = re.compile(r"sample_weight must be non-negative; row (\d+) has weight (\S+)")
#: a mixed-type model's block named before a message about one of its cells
_BLOCK = re.compile(r"blocks\[\d+\] \([\w ]+, X columns [^)]*\): ")


class Source:
    """Where the feature matrix of a command came from.

    Parameters
    ----------
    data : str
        DATA as given ('-' for standard input).
    names : list of str
        The feature columns, in the order of the matrix.
    dropped : bool
        Rows with missing cells may have been dropped (``--drop-missing``),
        so matrix rows no longer match file rows one to one.
    trials_column, weights_column : str or None
        The columns the trials and the row weights were read from.
    """

    def __init__(self, data: str, names, dropped: bool, trials_column: str | None = None,
                 weights_column: str | None = None, **text_format):
        self.data = data
        self.names = list(names)
        self.dropped = dropped
        self.trials_column = trials_column
        self.weights_column = weights_column
        self.text_format = text_format

    def row(self, i: int) -> str:
        """The file row of matrix row ``i`` (0-based), as messages show it."""
        if self.dropped:
            return f"data row {i + 1} of those kept by --drop-missing"
        from ..io import data_row_lines

        lines = data_row_lines(self.data, **self.text_format)
        if lines is not None and i < len(lines):
            return f"row {int(lines[i])}"
        return f"row {i + 1}"


def _families_words(text: str) -> str:
    for name, family in registry.families().items():
        text = re.sub(rf"\b{family.estimator_name}\b", f"--family {name}", text)
    text = text.replace("n_categories = ", "--categories ").replace("n_categories", "--categories")
    return text.replace("n_trials is", "the number of trials is")


def locate(message: str, source: Source | None) -> str:
    """``message`` with its ``X[i, j]`` cell (or its bad trials or weight) named by file, row
    and column."""
    if source is None:
        return message
    side = _locate_side(message, source)
    if side is not None:
        return side
    match = _CELL.search(message)
    if match is None:
        return message
    message = _BLOCK.sub("", message)  # the cell's column is named instead
    match = _CELL.search(message)
    i, j = int(match.group(1)), int(match.group(2))
    column = source.names[j] if j < len(source.names) else str(j)
    value = f"{match.group(3)} " if match.group(3) else "the value "
    where = f"{value}in column {column!r}, {source.row(i)}"
    text = _INDICES.sub("", message.replace(match.group(0), where, 1))
    text = re.sub(r"\bX\b", "the data", text)
    return f"{source.data}: {_families_words(text)}"


def _locate_side(message: str, source: Source) -> str | None:
    """A bad number of trials or weight named by its file, row and column; None for others."""
    match = _WEIGHT.search(message)
    if match is not None and source.weights_column is not None:
        row = source.row(int(match.group(1)))
        where = f"{match.group(2)} in column {source.weights_column!r}, {row}"
        return f"{source.data}: the row weights must be non-negative; {where}"
    match = _TRIALS.search(message)
    if match is not None and source.trials_column is not None:
        row = source.row(int(match.group(1)))
        where = f"{match.group(2)} in column {source.trials_column!r}, {row}"
        text = _INDICES.sub("", message.replace(match.group(0), where, 1))
        return f"{source.data}: {text.replace('n_trials must', 'the number of trials must', 1)}"
    return None
