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

Parameters of block ``b`` are stored under ``"b{b}_{name}"`` (for example
``"b0_means"``, ``"b1_probs"``), statistics and per-row side data likewise; the
family never knows which families its blocks are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..backends.numpy_backend import Data
from ._base import Family
from ._describe import Description


def block_prefix(b: int) -> str:
    """Key prefix of block ``b``'s parameters, statistics and side data."""
    return f"b{b}_"


def block_view(mapping, b: int, extra=()) -> dict:
    """Block ``b``'s entries of ``mapping`` without their prefix, plus the keys ``extra``."""
    p = block_prefix(b)
    out = {k[len(p):]: v for k, v in mapping.items() if k.startswith(p)}
    for key in extra:
        if key in mapping:
            out[key] = mapping[key]
    return out


def prefixed(mapping, b: int) -> dict:
    """``mapping`` with block ``b``'s prefix on every key."""
    p = block_prefix(b)
    return {p + k: v for k, v in mapping.items()}


class _Parts:
    """A block's scan tuple, added elementwise with another block chunk's."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple):
        self.parts = parts

    def __add__(self, other):
        return _Parts(tuple(a + b for a, b in zip(self.parts, other.parts, strict=True)))


def _columns(X, cols: np.ndarray):
    """The block's columns of a chunk: a view when they are contiguous."""
    if cols.size and np.all(np.diff(cols) == 1):
        return X[:, int(cols[0]):int(cols[-1]) + 1]
    return X[:, cols]


@dataclass(frozen=True, eq=False)
class MixedFamily(Family):
    """Products of independent blocks, each a registered family over some columns.

    Parameters
    ----------
    blocks : tuple of (Family, ndarray of int)
        Every block's configured family and its column indices in ``X``.
    n_features : int
        Number of columns of ``X``; every column lies in exactly one block.

    Notes
    -----
    Parameters are the blocks' parameters with the prefix ``"b{b}_"``.
    """

    blocks: tuple = ()
    n_features: int = 0
    #: how messages name every block (``"blocks[1] (bernoulli, X columns 1, 2)"``)
    labels: tuple = ()

    name = "mixed"
    estimator_name = "MixedMixture"
    display_name = "mixed"
    init_softening = 0.1

    # ------------------------------------------------------------------ set-up
    def _label(self, b: int) -> str:
        return self.labels[b] if b < len(self.labels) else f"blocks[{b}]"

    def _sub(self, data, b: int):
        cols = self.blocks[b][1]
        return Data(_columns(data.X, cols), data.sample_weight, block_view(data.aux, b), data.start)

    def _each(self, b: int, fn):
        try:
            return fn()
        except ValueError as exc:
            raise ValueError(f"{self._label(b)}: {exc}") from None

    def side_aux(self, n_samples, n_features, kwargs, where):
        if kwargs:
            raise TypeError(
                f"MixedMixture got unexpected keyword argument(s) {', '.join(sorted(kwargs))}; "
                "give per-block settings (such as n_trials) in the block's options"
            )
        aux = {}
        for b, (fam, cols) in enumerate(self.blocks):
            aux.update(prefixed(self._each(
                b, lambda fam=fam, cols=cols: fam.side_aux(n_samples, int(cols.size), {}, where)), b))
        return aux

    def check_support(self, X, aux, start=0):
        for b, (fam, cols) in enumerate(self.blocks):
            self._each(b, lambda fam=fam, cols=cols, b=b: fam.check_support(
                _columns(X, cols), block_view(aux, b), start))

    def scan(self, chunk):
        return tuple(_Parts(fam.scan(self._sub(chunk, b))) for b, (fam, _) in enumerate(self.blocks))

    def configure(self, totals, data, init):
        blocks = tuple(
            (self._each(b, lambda fam=fam, b=b: fam.configure(totals[b].parts, self._sub(data, b),
                                                              block_view(init, b))), cols)
            for b, (fam, cols) in enumerate(self.blocks))
        return replace(self, blocks=blocks)

    def prepare_aux(self, data):
        aux = dict(data.aux)
        for b, (fam, _) in enumerate(self.blocks):
            aux.update(prefixed(fam.prepare_aux(self._sub(data, b)).aux, b))
        return replace(data, aux=aux) if isinstance(data, Data) else data

    def for_params(self, params):
        return replace(self, blocks=tuple((fam.for_params(self._parts(params, b)), cols)
                                          for b, (fam, cols) in enumerate(self.blocks)))

    def derived(self, params):
        return {"_block_params": [block_view(params, b) for b in range(len(self.blocks))]}

    def held_keys(self, fixed):
        return [block_prefix(b) + k for b, (fam, _) in enumerate(self.blocks)
                for k in fam.held_keys(self._fixed(fixed, b))]

    # ----------------------------------------------------------------- helpers
    @property
    def param_names(self) -> tuple:
        return tuple(block_prefix(b) + p for b, (fam, _) in enumerate(self.blocks)
                     for p in fam.param_names)

    def _fixed(self, fixed, b: int) -> frozenset:
        p = block_prefix(b)
        return frozenset(name[len(p):] for name in fixed if name.startswith(p))

    def _parts(self, params, b: int) -> dict:
        return block_view(params, b, extra=("weights",))

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        return self.log_prob_cached(X, params, aux)[0]

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
            lp, cache = fam.log_prob_cached(_columns(X, cols), self._parts(params, b),
                                            block_view(aux, b))
            caches.append(cache)
            if total is None:
                total = np.array(lp, dtype=np.float64)
            else:
                total += lp
        return total, caches

    def suff_stats(self, X, resp, aux, cache=None):
        out = {}
        for b, (fam, cols) in enumerate(self.blocks):
            st = fam.suff_stats(_columns(X, cols), resp, block_view(aux, b),
                                None if cache is None else cache[b])
            out.update(prefixed(st, b))
        return out

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            new = fam.m_step(block_view(stats, b, extra=("nk",)), self._parts(params, b),
                             self._fixed(fixed, b))
            out.update(prefixed(new, b))
        return out

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        return int(sum(fam.n_parameters(self._parts(params, b), self._fixed(fixed, b))
                       for b, (fam, _) in enumerate(self.blocks)))

    def sample(self, params, labels, rng, aux):
        """Draw every block's columns; float64 array of shape (len(labels), n_features)."""
        X = np.empty((labels.shape[0], self.n_features))
        for b, (fam, cols) in enumerate(self.blocks):
            X[:, cols] = fam.sample(self._parts(params, b), labels, rng, block_view(aux, b))
        return X

    def param_shapes(self, n_components, n_features):
        if n_features != self.n_features:
            raise ValueError(f"the blocks cover {self.n_features} columns, not {n_features}")
        out = {}
        for b, (fam, cols) in enumerate(self.blocks):
            out.update(prefixed(fam.param_shapes(n_components, int(cols.size)), b))
        return out

    def check_params(self, params):
        for b, (fam, _) in enumerate(self.blocks):
            try:
                fam.check_params(block_view(params, b))
            except ValueError as exc:
                raise ValueError(f"block {b} ({fam.name}): {exc}") from None

    def degenerate_components(self, params):
        found = set()
        for b, (fam, _) in enumerate(self.blocks):
            found.update(fam.degenerate_components(self._parts(params, b)))
        return sorted(found)

    # ------------------------------------------------------------ description
    def settings(self):
        return {"blocks": [{"family": fam.name, "columns": [int(c) for c in cols], **fam.settings()}
                           for fam, cols in self.blocks]}

    def describe(self, params):
        """Every block's own description, under ``fields["blocks"]``."""
        blocks = []
        for b, (fam, cols) in enumerate(self.blocks):
            d = fam.describe(self._parts(params, b))
            blocks.append({"family": fam.name, "columns": [int(c) for c in cols], **d.fields})
        summary = tuple(f"{fam.name} on {cols.size} column{'s' if cols.size > 1 else ''}"
                        for fam, cols in self.blocks)
        return Description(fields={"blocks": blocks}, summary=summary, columns=())

    def _block_of(self, feature: int):
        for b, (fam, cols) in enumerate(self.blocks):
            hit = np.flatnonzero(cols == feature)
            if hit.size:
                return b, fam, int(hit[0])
        raise ValueError(f"column {feature} is in no block")

    def marginal_density(self, x, params, feature, aux):
        b, fam, j = self._block_of(feature)
        return fam.marginal_density(x, self._parts(params, b), j, block_view(aux, b))

    def marginal_range(self, params, feature, x, aux):
        b, fam, j = self._block_of(feature)
        return fam.marginal_range(self._parts(params, b), j, x, block_view(aux, b))

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            out.update(prefixed(fam.to_unconstrained(self._parts(params, b), self._fixed(fixed, b)), b))
        return out

    def from_unconstrained(self, theta, params, fixed):
        out = {}
        for b, (fam, _) in enumerate(self.blocks):
            new = fam.from_unconstrained(block_view(theta, b), self._parts(params, b),
                                         self._fixed(fixed, b))
            out.update(prefixed(new, b))
        return out


__all__ = ["MixedFamily", "block_prefix", "block_view", "prefixed"]
