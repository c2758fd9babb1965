"""Weighted draws of rows where the rows live: nothing of length n reaches the client.

The starts draw rows with probability proportional to a per-row mass (the
sample weight, or the weight times a distance for k-means++-like seeding),
walking the cumulative mass in a *canonical order* of the rows: ascending
along a fixed projection (:func:`sort_key`), ties broken by the row index.
That order makes a draw independent of how the rows are shuffled.  In
memory this is an argsort and a cumulative sum over all rows
(:func:`emkit.engine.init._pick_by_weight`); on a cluster the rows'
order would be an n-length array on the client.

:func:`draw_rows` finds the same rows with passes that each return O(m)
numbers for m draws: it places *split rows* (pairs of sort key and row
index), counts on the workers the mass and the number of rows below every
split (a sum over chunks, tree-reduced), keeps the intervals between splits
that hold a draw, refines those that still hold many rows with new splits
sampled inside them, and finally fetches the rows of the intervals that
hold a draw once they are few (at most ``LEAF_ROWS`` + ``FETCH_PER_DRAW``
rows per draw).  The result is the in-memory draw exactly,
up to the rounding of the cumulative sums (summed in another order), which
can only matter for a draw within about 1e-16 of a boundary.

This is the selection-by-refinement idea of distributed quantile
algorithms (for example Greenwald & Khanna, SIGMOD 2001), made exact by a
last pass over the few rows left.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backends.numpy_backend import Data

#: an interval holding a draw is fetched once it has at most this many rows
LEAF_ROWS = 16
#: refinement stops once the intervals holding draws with more than LEAF_ROWS rows have at
#: most this many rows per draw in all (every interval holding a draw is then fetched:
#: at most LEAF_ROWS + FETCH_PER_DRAW rows per draw)
FETCH_PER_DRAW = 8
#: refinement rounds before the remaining intervals are fetched however large
MAX_ROUNDS = 12


def sort_key(X, shift: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Projection of the centred rows on ``direction``, shape (n_rows,).

    A row's value does not depend on the other rows of its chunk (an
    elementwise product and a per-row sum), so every chunking gives every row
    the same key.
    """
    Xc = np.asarray(X, dtype=np.float64) - shift
    return (Xc * direction).sum(axis=1)


def _chunk_view(ch: Data, shift, direction, mass: Callable | None):
    """Key, global row index and mass of a chunk's rows, sorted by (key, index)."""
    key = sort_key(ch.X, shift, direction)
    idx = ch.start + np.arange(ch.n_samples, dtype=np.int64)
    m = np.asarray(ch.sample_weight if mass is None else mass(ch), dtype=np.float64)
    o = np.argsort(key, kind="stable")  # within a chunk the indices ascend
    return key[o], idx[o], m[o]


def _below(key, idx, m, sk, si):
    """Mass and count of the rows strictly below each split (sk, si) (sorted, distinct)."""
    P = sk.shape[0]
    allk = np.concatenate([key, sk])
    alli = np.concatenate([idx, si])
    row = np.concatenate([np.ones(key.shape[0], bool), np.zeros(P, bool)])
    # a split sorts before a row equal to it: rows strictly below it are counted
    order = np.lexsort((row, alli, allk))
    is_row = row[order]
    mass = np.zeros(order.shape[0])
    mass[is_row] = m[order[is_row]]
    at = np.flatnonzero(~is_row)  # the splits, in their sorted order
    return np.cumsum(mass)[at], np.cumsum(is_row)[at].astype(np.float64)


def _interval_of(key, idx, sk, si):
    """Index of the interval [s_j, s_j+1) of every row; 0 is below the first split."""
    if sk.shape[0] == 0:
        return np.zeros(key.shape[0], dtype=np.intp)
    allk = np.concatenate([sk, key])
    alli = np.concatenate([si, idx])
    split = np.concatenate([np.ones(sk.shape[0], bool), np.zeros(key.shape[0], bool)])
    order = np.lexsort((~split, alli, allk))  # a split before an equal row: the row is in it
    is_split = split[order]
    out = np.empty(key.shape[0], dtype=np.intp)
    out[order[~is_split] - sk.shape[0]] = np.cumsum(is_split)[~is_split]
    return out


def draw_rows(data: Data, backend, shift: np.ndarray, direction: np.ndarray, u: np.ndarray,
              mass: Callable[[Data], np.ndarray] | None = None) -> np.ndarray:
    """Row indices drawn with probability proportional to ``mass`` in the canonical order.

    Equal to ``order[searchsorted(cumsum(mass[order]), u * total, "right")]``
    (clipped to the last row), where ``order`` sorts the rows by
    (:func:`sort_key`, row index), computed with passes over the data.

    Parameters
    ----------
    data : Data
        Rows in memory or a dask array (any backend).
    backend : NumpyBackend or DaskBackend
    shift : ndarray of shape (n_features,)
    direction : ndarray of shape (n_features,)
    u : ndarray of shape (m,)
        Uniform numbers in [0, 1).
    mass : callable or None
        ``mass(chunk) -> (n_chunk,)`` non-negative; default the sample weight.

    Returns
    -------
    idx : ndarray of shape (m,), int
        Global row indices, in the order of ``u``.
    """
    u = np.asarray(u, dtype=np.float64)
    n = int(data.n_samples)
    view = (lambda ch: _chunk_view(ch, shift, direction, mass))

    def counts(sk, si):
        return backend.map_reduce(lambda ch: _below(*view(ch), sk, si), data)

    (total,) = backend.map_reduce(lambda ch: (float(view(ch)[2].sum()),), data)
    t = u * total
    sk = np.empty(0)
    si = np.empty(0, dtype=np.int64)
    C = np.array([0.0, total])  # mass below each split, with the two ends
    N = np.array([0.0, float(n)])
    for _ in range(MAX_ROUNDS):
        j = np.clip(np.searchsorted(C, t, side="right") - 1, 0, sk.shape[0])
        sizes = N[1:] - N[:-1]
        active = np.unique(j)
        big = active[sizes[active] > LEAF_ROWS]
        if sizes[big].sum() <= FETCH_PER_DRAW * u.shape[0]:
            break
        # new splits: rows sampled evenly by rank inside each big interval, more where more draws
        want = np.zeros(sk.shape[0] + 1)
        want[big] = (2 * np.bincount(j, minlength=sk.shape[0] + 1)[big] + 16) / sizes[big]

        def sketch(ch, sk=sk, si=si, want=want):
            key, idx, _ = view(ch)
            iv = _interval_of(key, idx, sk, si)
            rate = want[iv]
            take = rate > 0
            if not take.any():
                return ([], [])
            # within each interval, every (1/rate)-th row of the chunk (at least one)
            key, idx, iv, rate = key[take], idx[take], iv[take], rate[take]
            o = np.lexsort((idx, key, iv))
            key, idx, iv, rate = key[o], idx[o], iv[o], rate[o]
            first = np.r_[0, np.flatnonzero(np.diff(iv)) + 1]
            rank = np.arange(iv.shape[0]) - np.repeat(first, np.diff(np.r_[first, iv.shape[0]]))
            step = np.maximum(1, np.floor(1.0 / np.minimum(rate, 1.0))).astype(np.int64)
            pick = rank % step == 0
            return ([key[pick]], [idx[pick]])

        ks, is_ = backend.map_reduce(sketch, data)
        if not ks:
            break
        nk, ni = np.concatenate(ks), np.concatenate(is_).astype(np.int64)
        new = np.lexsort((ni, nk))
        nk, ni = nk[new], ni[new]
        Cn, Nn = counts(nk, ni)
        allk = np.concatenate([sk, nk])
        alli = np.concatenate([si, ni])
        o = np.lexsort((alli, allk))
        keep = np.r_[True, (np.diff(allk[o]) != 0) | (np.diff(alli[o]) != 0)]
        o = o[keep]
        sk, si = allk[o], alli[o]
        C = np.concatenate([[0.0], np.concatenate([C[1:-1], Cn])[o], [total]])
        N = np.concatenate([[0.0], np.concatenate([N[1:-1], Nn])[o], [float(n)]])
    j = np.clip(np.searchsorted(C, t, side="right") - 1, 0, sk.shape[0])
    leaves = np.unique(j)
    flag = np.zeros(sk.shape[0] + 1, dtype=bool)
    flag[leaves] = True

    def fetch(ch):
        key, idx, m = view(ch)
        iv = _interval_of(key, idx, sk, si)
        keep = flag[iv]
        return ([key[keep]], [idx[keep]], [m[keep]], [iv[keep]])

    fk, fi, fm, fv = backend.map_reduce(fetch, data)
    fk, fi, fm, fv = (np.concatenate(a) for a in (fk, fi, fm, fv))
    o = np.lexsort((fi, fk))
    fk, fi, fm, fv = fk[o], fi[o], fm[o], fv[o]
    out = np.empty(u.shape[0], dtype=np.int64)
    for leaf in leaves:  # at most one iteration per draw
        rows = fv == leaf
        ids, cum = fi[rows], C[leaf] + np.cumsum(fm[rows])
        mine = np.flatnonzero(j == leaf)
        pos = np.searchsorted(cum, t[mine], side="right")
        out[mine] = ids[np.minimum(pos, ids.shape[0] - 1)]
    return out
