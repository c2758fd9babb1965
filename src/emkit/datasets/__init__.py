"""Small data sets bundled with emkit."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["load_faithful"]


def load_faithful(*, return_names: bool = False):
    """Old Faithful geyser eruptions (272 rows, public domain).

    Columns: eruption duration (minutes) and waiting time to the next
    eruption (minutes).  A classic two-cluster data set for 2-D mixtures.

    Parameters
    ----------
    return_names : bool, default=False
        Also return the column names.

    Returns
    -------
    X : ndarray of shape (272, 2)
    names : list of str
        Only when ``return_names`` is true.
    """
    ref = resources.files(__name__).joinpath("data/faithful.csv")
    with ref.open("r", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    names = [c.strip() for c in rows[0]]
    X = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=np.float64)
    return (X, names) if return_names else X
