"""The data checks of a mixed-type family: missing cells, each block's support, one pass."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite
from ._blocks import _columns, fill_missing


class BlockChecks:
    """Data checks of :class:`~emkit.families.mixed.MixedFamily`, a base class of it.

    Uses its ``blocks``, ``marginalize``, ``column_label``, ``block_label``,
    ``_in_block`` and ``_view``.
    """

    def check_missing(self, X, start: int = 0) -> None:
        """Raise ValueError for a cell the ``missing`` policy does not allow.

        Without ``marginalize`` any NaN or inf; with it inf, and a block
        partly missing in a row unless its family integrates out single cells.
        """
        if not self.marginalize:
            check_finite(X, row_offset=start)
            return
        inf = np.isinf(X)
        if inf.any():
            r, c = divmod(int(np.flatnonzero(inf.ravel())[0]), X.shape[1])
            raise ValueError(f"X contains inf at row {r + start}, column {self.column_label(c)}; "
                             "only NaN marks a missing cell")
        nan = np.isnan(X)
        for b, (fam, cols) in enumerate(self.blocks):
            if self._cells(fam):
                continue
            block = nan[:, cols]
            partial = block.any(axis=1) & ~block.all(axis=1)
            if partial.any():
                r = int(np.flatnonzero(partial)[0])
                c = int(cols[int(np.argmax(block[r]))])
                raise ValueError(
                    f"row {r + start}, column {self.column_label(c)} is missing while other columns "
                    f"of blocks[{b}] ({fam.name}) are observed in that row; with "
                    "missing='marginalize' such a block is missing as a whole: give a column that "
                    "can be missing on its own a block of its own"
                )

    def check_support(self, X, aux, start=0):
        for b, (fam, cols) in enumerate(self.blocks):
            Xb = _columns(X, cols)
            if self.marginalize:
                Xb = fill_missing(fam.unknown_as_missing(Xb), fill=fam.missing_fill)[0]
            self._in_block(b, fam.check_support, Xb, self._view(aux, b), start)

    def _check_pass(self, data, backend):
        """One pass of the missing-value and support checks (:meth:`check_rows`).

        Returns
        -------
        totals : ndarray of shape (4, n_features)
            Observed cells, and the weight, weighted sum and weighted sum of
            squares of the observed cells, per column.
        lowest : ndarray of shape (n_features,)
            The smallest observed value of every column (``inf`` for a
            column with none).
        """
        parts = self._checked_pass(data, backend, _column_totals)
        return sum(c[0] for c in parts), np.minimum.reduce([c[1] for c in parts])

    def check_rows(self, X, aux, start=0):
        """Missing cells as the policy allows, then every block's support (one chunk)."""
        self.check_missing(X, start)
        self.check_support(X, aux, start)


def _column_totals(chunk):
    """Observed cells, their weight, weighted sum and sum of squares, and the lowest value,
    per column of one chunk (see :meth:`BlockChecks._check_pass`)."""
    X = np.asarray(chunk.X, dtype=np.float64)
    seen = ~np.isnan(X)
    X0 = np.where(seen, X, 0.0)
    w = chunk.sample_weight
    lowest = np.where(seen, X, np.inf).min(axis=0, initial=np.inf)
    return np.stack([seen.sum(axis=0), w @ seen, w @ X0, w @ (X0 * X0)]), lowest
