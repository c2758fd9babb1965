"""What a mixed-type family shows: its blocks' descriptions and marginals, placed at their columns."""

from __future__ import annotations

import numpy as np

from ._describe import Column, Description


class BlockDescription:
    """Description and plot hooks of :class:`~emkit.families.mixed.MixedFamily`.

    A base class of it, before :class:`~emkit.families.Family`; uses its
    ``blocks``, ``n_features``, ``_parts`` and ``_view``.
    """

    # ------------------------------------------------------------ description
    def settings(self):
        return {"blocks": [{"family": fam.name, "columns": [int(c) for c in cols], **fam.settings()}
                           for fam, cols in self.blocks]}

    def describe(self, params):
        """Every block's own description under ``fields["blocks"]``.

        The table columns are the blocks' own, each block's values placed at
        its columns of ``X`` (``None``, shown as "-", elsewhere).
        """
        blocks, merged = [], {}
        for b, (fam, cols) in enumerate(self.blocks):
            desc = fam.describe(self._parts(params, b))
            blocks.append({"family": fam.name, "columns": [int(c) for c in cols], **desc.fields})
            for col in desc.columns:
                if col.values is None or np.ndim(col.values) != 2:
                    continue
                values = np.asarray(col.values)
                key = (col.label, col.digits)
                if key not in merged:
                    merged[key] = np.full((values.shape[0], self.n_features), None, dtype=object)
                merged[key][:, cols] = values
        summary = tuple(f"{fam.name} on {cols.size} column{'s' if cols.size > 1 else ''}"
                        for fam, cols in self.blocks)
        columns = tuple(Column(label, arr, digits) for (label, digits), arr in merged.items())
        return Description(fields={"blocks": blocks}, summary=summary, columns=columns, wide_max=0)

    def _block_of(self, feature: int):
        for b, (fam, cols) in enumerate(self.blocks):
            hit = np.flatnonzero(cols == feature)
            if hit.size:
                return b, fam, int(hit[0])
        raise ValueError(f"column {feature} is in no block")

    def feature_family(self, feature: int):
        return self._block_of(feature)[1]

    def marginal_density(self, x, params, feature, aux):
        b, fam, j = self._block_of(feature)
        return fam.marginal_density(x, self._parts(params, b), j, self._view(aux, b))

    def marginal_range(self, params, feature, x, aux):
        b, fam, j = self._block_of(feature)
        return fam.marginal_range(self._parts(params, b), j, x, self._view(aux, b))

    def marginal_support(self, params, feature, x, aux):
        b, fam, j = self._block_of(feature)
        return fam.marginal_support(self._parts(params, b), j, x, self._view(aux, b))
