"""Mixed-type components: independent blocks of columns, each with its own family.

Given its component, a row's blocks of columns are independent, so the
component density is the product of the blocks' densities:
``log p_k(x) = sum_b log p_kb(x[cols_b])``.  Each block's statistics are its
family's own statistics and each block's M-step is its family's own M-step,
with the responsibilities shared; the EM engine is unchanged.  This is the
latent profile / latent class model for tables of mixed types (Vermunt &
Magidson, "Latent class cluster analysis", in *Applied Latent Class Analysis*,
Cambridge University Press 2002; Hunt & Jorgensen, "Mixture model clustering
for mixed data with missing information", CSDA 41:429-440, 2003).

With ``marginalize`` set, a row whose cells of a block are all missing (NaN)
drops that block's factor: its log density is the product over the blocks it
has, the exact marginal of the observed cells under missingness at random
(Little & Rubin, *Statistical Analysis with Missing Data*, 2nd ed., Wiley
2002, ch. 8 and 11), and the block's statistics leave the row out (each block
carries its own ``"nk"``).  Missing cells are filled with the family's
``missing_fill`` (a value in its support) before its own code sees them.  A
family that integrates out single cells itself (it has ``log_prob_missing``
and ``suff_stats_missing``: the Gaussian family by conditioning, the product
families of :mod:`emkit.families._cells` by dropping the cell's factor) gets
the partly missing rows of its block with their NaN cells; the product
families take that path for every chunk (``cells_when_complete``), so their
statistics have one layout throughout a fit.  A start's statistics come
from the product families' ``missing_cache`` (no parameters needed), or for
a Gaussian block from the rows with missing cells at the column mean.

:class:`~emkit.families._marginal.MarginalFamily` is the one-block case
without prefixes, which every estimator uses for ``missing="marginalize"``.

Parameters of block ``b`` are stored under ``"b{b}_{name}"`` (for example
``"b0_means"``, ``"b1_probs"``), statistics and per-row side data likewise; the
family never knows which families its blocks are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import re

import numpy as np

from ..backends.dask_backend import is_dask_array
from ._base import Family
from ._blocks import (
    block_prefix,
    block_view,
    _BlockRows,
    _CellCache,
    _columns,
    fill_missing,
    _observed_rows,
    prefixed,
    _prepared_block,
    StandardisedRows,
)
from ._mixed_checks import BlockChecks
from ._mixed_describe import BlockDescription

#: a block's cell in its family's messages, and the indices some messages add
_BLOCK_CELL = re.compile(r"X\[(\d+), (\d+)\]")
_BLOCK_COLUMN = re.compile(r"\(row (\d+), column (\d+)\)")


@dataclass(frozen=True, eq=False)
class MixedFamily(BlockChecks, BlockDescription, Family):
    """Products of independent blocks, each a registered family over some columns.

    Parameters
    ----------
    blocks : tuple of (Family, ndarray of int)
        Every block's configured family and its column indices in ``X``.
    n_features : int
        Number of columns of ``X``; every column lies in exactly one block.
    marginalize : bool
        Integrate out blocks whose cells are missing (NaN) in a row.
    column_names : tuple of str or None
        Names of the columns of ``X``, for messages.

    Notes
    -----
    Parameters are the blocks' parameters with the prefix ``"b{b}_"``.
    """

    blocks: tuple = ()
    n_features: int = 0
    marginalize: bool = False
    column_names: tuple | None = None
    standardise: StandardisedRows | None = None

    name = "mixed"
    estimator_name = "MixedMixture"
    display_name = "mixed"
    init_softening = 0.1

    # ------------------------------------------------------------------ set-up
    def column_label(self, j: int) -> str:
        """How messages name column ``j``."""
        return repr(str(self.column_names[j])) if self.column_names is not None else str(j)

    def block_label(self, b: int) -> str:
        fam, cols = self.blocks[b]
        shown = ", ".join(self.column_label(int(j)).strip("'") for j in cols)
        return f"blocks[{b}] ({fam.name}, X columns {shown})"

    def _in_block(self, b: int, call, *args):
        """``call(*args)``, with block ``b`` named in any ValueError and its cells
        (``X[i, j]``, ``(row i, column j)``) renumbered as columns of ``X``."""
        try:
            return call(*args)
        except ValueError as exc:
            cols = self.blocks[b][1]

            def of_x(j: str) -> str:
                return str(int(cols[int(j)])) if int(j) < cols.size else j

            text = _BLOCK_CELL.sub(lambda m: f"X[{m.group(1)}, {of_x(m.group(2))}]", str(exc))
            text = _BLOCK_COLUMN.sub(lambda m: f"(row {m.group(1)}, column {of_x(m.group(2))})",
                                     text)
            raise ValueError(f"{self.block_label(b)}: {text}") from None

    def check_settings(self):
        for b, (fam, _) in enumerate(self.blocks):
            try:
                fam.check_settings()
                fam.check_missing_policy(self.marginalize)
            except ValueError as exc:
                raise ValueError(f"blocks[{b}] ({fam.name}): {exc}") from None

    def side_aux(self, n_samples, n_features, kwargs, where):
        if kwargs:
            raise TypeError(
                f"{where} got unexpected keyword argument(s) {', '.join(sorted(kwargs))}; give "
                "per-block settings (such as n_trials) in the block's options"
            )
        aux = {}
        for b, (fam, cols) in enumerate(self.blocks):
            aux.update(self._prefixed(self._in_block(b, fam.side_aux, n_samples, int(cols.size), {}, where), b))
        return aux

    def start_transform(self):
        """:class:`StandardisedRows` from the set-up pass (None before :meth:`prepare`)."""
        return self.standardise

    def prepare(self, data, backend, init=None):
        """Check the data, then set every block up on its columns with its family's ``prepare``.

        With ``marginalize`` a block is set up on the rows that observe all of
        its columns (the others get weight 0 there), or, for a family that
        integrates out single cells, on the rows that observe any of them,
        their missing cells at the column mean (continuous families) or the
        family's :attr:`~emkit.families.Family.missing_fill`.

        Returns
        -------
        family : MixedFamily
        data : Data
            With every block's side data under its prefix.
        """
        totals, lowest = self._check_pass(data, backend)
        if self.marginalize:
            empty = np.flatnonzero(totals[0] == 0)
            if empty.size:
                raise ValueError(f"column {self.column_label(int(empty[0]))} is entirely missing; "
                                 "drop it from X (and from its block)")
        weight = np.maximum(totals[1], np.finfo(float).tiny)
        centre = totals[2] / weight
        sd = np.sqrt(np.maximum(totals[3] / weight - centre * centre, 0.0))
        scale = np.where(sd > 1e-12 * np.maximum(np.abs(centre), 1.0), sd, 1.0)
        blocks, aux = [], {}
        # above one chunk of rows, blocks are set up chunk by chunk (memory-mapped X stays on disk)
        lazy = (self.marginalize and not is_dask_array(data.X)
                and data.n_samples > backend.resolve_chunk_size(data, 1))
        for b, (fam, cols) in enumerate(self.blocks):
            w = data.sample_weight
            if self.marginalize:
                cells = self._cells(fam)
                fill = (np.where(np.isfinite(lowest[cols]), lowest[cols], fam.missing_fill)
                        if fam.fill_from_data else fam.missing_fill)
                stand_in = centre[cols] if fam.data_kind == "continuous" else fill
                if lazy:
                    Xb = _BlockRows(data.X, cols, cells, fill, stand_in)
                    observed = _observed_rows(data, backend, cols, cells)
                else:
                    Xb, observed = _prepared_block(data.X[:, cols], cells, fill, stand_in)
                if observed is not None:
                    if not np.any(observed & (w > 0)):
                        raise ValueError(f"{self.block_label(b)}: no row with a positive weight has "
                                         f"{'any' if cells else 'all'} of the block's columns "
                                         "observed")
                    w = w * observed
            else:
                Xb = data.X[:, cols]
            sub = replace(data, X=Xb, sample_weight=w, aux=self._view(data.aux, b))
            fam_b, sub = self._in_block(b, fam.prepare, sub, backend, {})
            blocks.append((fam_b, cols))
            aux.update(self._prefixed(sub.aux, b))
        return (replace(self, blocks=tuple(blocks), standardise=StandardisedRows(centre, scale)),
                replace(data, aux=aux))

    def for_params(self, params):
        return replace(self, blocks=tuple((fam.for_params(self._parts(params, b)), cols)
                                          for b, (fam, cols) in enumerate(self.blocks)))

    def derived(self, params):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            out.update(self._prefixed(fam.derived(self._parts(params, b)), b))
        return out

    def held_keys(self, fixed):
        return [self._prefix(b) + k for b, (fam, _) in enumerate(self.blocks)
                for k in fam.held_keys(self._fixed(fixed, b))]

    # ----------------------------------------------------------------- helpers
    def _prefix(self, b: int) -> str:
        """Key prefix of block ``b`` (see :func:`block_prefix`)."""
        return block_prefix(b)

    def _view(self, mapping, b: int, extra=()) -> dict:
        p = self._prefix(b)
        out = {k[len(p):]: v for k, v in mapping.items() if k.startswith(p)}
        for key in extra:
            if key in mapping:
                out[key] = mapping[key]
        return out

    def _prefixed(self, mapping, b: int) -> dict:
        p = self._prefix(b)
        return {p + k: v for k, v in mapping.items()}

    @property
    def param_names(self) -> tuple:
        return tuple(self._prefix(b) + p for b, (fam, _) in enumerate(self.blocks)
                     for p in fam.param_names)

    def _fixed(self, fixed, b: int) -> frozenset:
        p = self._prefix(b)
        return frozenset(name[len(p):] for name in fixed if name.startswith(p))

    def _parts(self, params, b: int) -> dict:
        return self._view(params, b, extra=("weights",))

    # ------------------------------------------------------------------ E-step
    def log_prob_cached(self, X, params, aux):
        """Sum of the blocks' log densities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        params : dict
        aux : dict of ndarray
            Per-row side data of block ``b`` under ``"b{b}_..."``.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
        cache : list
            Every block's cache for :meth:`suff_stats`.
        """
        total = None
        caches = []
        for b, (fam, cols) in enumerate(self.blocks):
            Xb, observed = self._block_rows(X, cols, fam)
            if self._cell_path(fam, Xb):
                lp, cache = fam.log_prob_missing(Xb, self._parts(params, b), self._view(aux, b))
                cache = _CellCache(cache)
            else:
                lp, cache = fam.log_prob_cached(Xb, self._parts(params, b), self._view(aux, b))
            caches.append((cache, Xb, observed))
            if observed is not None:
                lp = np.where(observed[:, None], lp, 0.0)
            if total is None:
                total = np.array(lp, dtype=np.float64)
            else:
                total += lp
        return total, caches

    @staticmethod
    def _cells(fam) -> bool:
        """Whether ``fam`` integrates out single missing cells itself."""
        return callable(getattr(fam, "log_prob_missing", None))

    def _cell_path(self, fam, Xb) -> bool:
        """Whether block rows ``Xb`` go through the family's missing-cell hooks."""
        if not (self.marginalize and self._cells(fam)):
            return False
        return bool(getattr(fam, "cells_when_complete", False)) or bool(np.isnan(Xb).any())

    def _block_rows(self, X, cols, fam=None):
        Xb = _columns(X, cols)
        if not self.marginalize:
            return Xb, None
        if fam is not None:
            Xb = fam.unknown_as_missing(Xb)
        return fill_missing(Xb, whole_rows_only=fam is not None and self._cells(fam),
                            fill=0.0 if fam is None else fam.missing_fill)

    def _start_stats(self, fam, Xb, r, aux, cols) -> dict:
        """A cell-integrating block's statistics without parameters (for a start).

        A product family's statistics of the observed cells need no
        parameters; a Gaussian block puts missing cells at the column mean.
        """
        if self._cell_path(fam, Xb) and callable(getattr(fam, "missing_cache", None)):
            return fam.suff_stats_missing(r, fam.missing_cache(Xb, aux))
        nan = np.isnan(Xb) if Xb.dtype.kind == "f" else None
        if nan is not None and nan.any() and self.standardise is not None:
            Xb = np.where(nan, self.standardise.centre[cols], Xb)
        return fam.suff_stats(Xb, r, aux, None)

    def suff_stats(self, X, resp, aux, cache=None):
        out = {}
        for b, (fam, cols) in enumerate(self.blocks):
            cells = self.marginalize and self._cells(fam)
            if cache is None:
                (Xb, observed), fam_cache = self._block_rows(X, cols, fam if cells else None), None
            else:
                fam_cache, Xb, observed = cache[b]
            r = resp if observed is None else resp * observed[:, None]
            if cache is None and cells:
                st = self._start_stats(fam, Xb, r, self._view(aux, b), cols)
            elif isinstance(fam_cache, _CellCache):
                st = fam.suff_stats_missing(r, fam_cache.cache)
            else:
                st = fam.suff_stats(Xb, r, self._view(aux, b), fam_cache)
            if self.marginalize:
                st["nk"] = r.sum(axis=0)  # the block's own total: rows that observe it
            out.update(self._prefixed(st, b))
        return out

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            view = self._view(stats, b)
            view.setdefault("nk", stats["nk"])
            new = fam.m_step(view, self._parts(params, b), self._fixed(fixed, b))
            out.update(self._prefixed(new, b))
        return out

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return int(sum(fam.n_parameters(self._parts(params, b), self._fixed(fixed, b))
                       for b, (fam, _) in enumerate(self.blocks)))

    def sample(self, params, labels, rng, aux):
        """Draw every block's columns; float64 array of shape (len(labels), n_features)."""
        X = np.empty((labels.shape[0], self.n_features))
        for b, (fam, cols) in enumerate(self.blocks):
            X[:, cols] = fam.sample(self._parts(params, b), labels, rng, self._view(aux, b))
        return X

    def param_shapes(self, n_components, n_features):
        if n_features != self.n_features:
            raise ValueError(f"the blocks cover {self.n_features} columns, not {n_features}")
        out = {}
        for b, (fam, cols) in enumerate(self.blocks):
            out.update(self._prefixed(fam.param_shapes(n_components, int(cols.size)), b))
        return out

    def check_params(self, params):
        for b, (fam, _) in enumerate(self.blocks):
            try:
                fam.check_params(self._view(params, b))
            except ValueError as exc:
                raise ValueError(f"block {b} ({fam.name}): {exc}") from None

    def likelihood_slack(self) -> float:
        return max((fam.likelihood_slack() for fam, _ in self.blocks), default=0.0)

    def degenerate_components(self, params):
        found = set()
        for b, (fam, _) in enumerate(self.blocks):
            found.update(fam.degenerate_components(self._parts(params, b)))
        return sorted(found)

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            out.update(self._prefixed(fam.to_unconstrained(self._parts(params, b), self._fixed(fixed, b)), b))
        return out

    def from_unconstrained(self, theta, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            new = fam.from_unconstrained(self._view(theta, b), self._parts(params, b),
                                         self._fixed(fixed, b))
            out.update(self._prefixed(new, b))
        return out


__all__ = ["MixedFamily", "StandardisedRows", "block_prefix", "block_view", "fill_missing", "prefixed"]
