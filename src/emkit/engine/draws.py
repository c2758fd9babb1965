"""Weighted draws of rows where the rows live: nothing of length n reaches the client.

The starts draw rows with probability proportional to a per-row mass (the
sample weight, or the weight times a distance for k-means++-like seeding),
walking the cumulative mass in a *canonical order* of the rows: ascending
along a fixed projection (:func:`sort_key`), ties broken by the row index.
That order makes a draw independent of how the rows are shuffled.  In
memory this is an argsort and a cumulative sum over all rows
(:func:`emkit.engine._order._pick_by_weight`); on a cluster the rows'
order would be an n-length array on the client.

:func:`draw_rows` finds the same rows with a few passes that each return
O(m) numbers for m draws.  *Split rows* (pairs of sort key and row index)
cut the canonical order into intervals:

1. the first pass sums the mass and samples split rows, each row with
   probability ``B / n`` for a budget of ``B = max(SPLITS_PER_DRAW * m,
   MIN_SPLITS)`` splits;
2. a counting pass adds, per interval, the mass and the rows in it (two
   bincounts per chunk, tree-reduced), so the client knows the mass below
   every split and hence the interval that holds each draw;
3. while the intervals holding a draw hold more than ``F = max(FETCH_PER_DRAW
   * m, MIN_FETCH)`` rows in all, about ``B`` new split rows are sampled
   inside them (in proportion to ``sqrt(draws * rows)`` per interval, which
   minimises the rows left holding a draw) and counted again; the splits
   of the other intervals are dropped;
4. the last pass fetches the key, index and mass of the rows of the
   intervals holding a draw, at most ``F`` rows, and the client walks their
   cumulative mass.

So no pass returns more than O(B + m) numbers; data of at most ``F`` rows
are fetched whole in one pass.  After the first count the
intervals holding a draw hold about ``2 m n / B`` rows (random splits leave
intervals of ``n / B`` rows, and a draw falls in a long one more often), so
three passes suffice for n up to about ``F B / (2 m)`` rows (for a few draws
``2**28 / m``; for m = 100,000, 800,000), and every further round of two
passes divides the rows left by about ``SPLITS_PER_DRAW + 1`` (measured:
nine passes for 21 million rows and 100,000 draws, benchmarks/README.md).
The sampling is a hash of the row index and the round, so the passes do
not depend on the chunking.  The result is the in-memory draw exactly, up
to the rounding of the cumulative sums (summed in another order), which can
only matter for a draw within about 1e-16 of a boundary.

This is the selection-by-sampling idea of distributed quantile and
selection algorithms (Floyd & Rivest, CACM 18:165-172, 1975; Greenwald &
Khanna, SIGMOD 2001), made exact by a last pass over the few rows left.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backends.numpy_backend import Data

#: split rows sampled per round, per draw (and at least MIN_SPLITS)
SPLITS_PER_DRAW = 4
#: fewest split rows sampled per round (a counting pass then returns 1 MiB)
MIN_SPLITS = 65_536
#: the intervals holding a draw are fetched once they hold at most this many rows per draw
#: (and at least MIN_FETCH rows in all: 192 KiB)
FETCH_PER_DRAW = 4
MIN_FETCH = 8192
#: refinement rounds before the intervals holding a draw are fetched however large
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
    """Key, global row index and mass of a chunk's rows, in the chunk's order."""
    key = sort_key(ch.X, shift, direction)
    idx = ch.start + np.arange(ch.n_samples, dtype=np.int64)
    m = np.asarray(ch.sample_weight if mass is None else mass(ch), dtype=np.float64)
    return key, idx, m


def _tie_keys(sk, si, n: int) -> np.ndarray:
    """Splits as one int64 each, ``(first split of their key) * n + index``, ascending."""
    return np.searchsorted(sk, sk, side="left").astype(np.int64) * np.int64(n) + si


def _interval_of(key, idx, sk, si, tk, n: int):
    """Interval of every row: the number of splits (sk, si) at or below (key, idx).

    The splits are sorted by (key, index) and distinct, ``tk`` is
    :func:`_tie_keys` of them and ``n`` exceeds every row index; a row equal
    to a split is in the interval that starts at it; 0 is below the first
    split.  Binary searches: O(n_rows log P), whatever the number P of splits.
    """
    o = np.argsort(key)  # searching sorted keys is a few times faster (the cache)
    lo = np.empty(key.shape[0], dtype=np.intp)
    lo[o] = np.searchsorted(sk, key[o], side="left")
    tie = np.flatnonzero(sk[np.minimum(lo, sk.shape[0] - 1)] == key) if sk.shape[0] else lo[:0]
    if tie.size:
        lo[tie] = np.searchsorted(tk, lo[tie].astype(np.int64) * np.int64(n) + idx[tie], side="right")
    return lo


def _uniform(idx: np.ndarray, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) per row index and salt (SplitMix64 finaliser)."""
    z = idx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _splits_wanted(d: np.ndarray, s: np.ndarray, budget: int) -> np.ndarray:
    """Splits for intervals of ``s`` rows holding ``d`` draws: about ``budget`` in all.

    In proportion to ``sqrt(d * s)``, which minimises the rows left holding a
    draw, ``sum(d * s / (q + 1))``; never more than the rows.
    """
    r = np.sqrt(d * s)
    return np.minimum(np.ceil(budget * r / r.sum()), s)


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
    if u.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    view = (lambda ch: _chunk_view(ch, shift, direction, mass))
    budget = max(SPLITS_PER_DRAW * u.shape[0], MIN_SPLITS)
    fetch_rows = max(FETCH_PER_DRAW * u.shape[0], MIN_FETCH)

    def sample(rate, sk=None, si=None, salt=0):
        """Pass function: split rows drawn at ``rate`` (per interval when ``sk`` is given)."""
        tk = None if sk is None else _tie_keys(sk, si, n)

        def fn(ch):
            key, idx, m = view(ch)
            r = rate if sk is None else rate[_interval_of(key, idx, sk, si, tk, n)]
            pick = _uniform(idx, salt) < r
            return float(m.sum()), [key[pick]], [idx[pick]]
        return fn

    def count(sk, si):
        """Pass function: mass and rows of every interval between the splits."""
        P = sk.shape[0] + 1
        tk = _tie_keys(sk, si, n)

        def fn(ch):
            key, idx, m = view(ch)
            iv = _interval_of(key, idx, sk, si, tk, n)
            return np.bincount(iv, weights=m, minlength=P), np.bincount(iv, minlength=P)
        return fn

    def sorted_splits(keys, ids):
        k, i = np.concatenate(keys), np.concatenate(ids).astype(np.int64)
        o = np.lexsort((i, k))
        k, i = k[o], i[o]
        keep = np.r_[True, (np.diff(k) != 0) | (np.diff(i) != 0)]
        return k[keep], i[keep]

    if n <= fetch_rows:  # no larger than the last pass would be: one pass fetches every row
        sk, si = np.empty(0), np.empty(0, dtype=np.int64)
        C, held = None, np.zeros(1, dtype=np.intp)
    else:
        total, ks, is_ = backend.map_reduce(sample(budget / n, salt=1), data)
        t, C = u * total, np.zeros(2)
        sk, si = sorted_splits(ks + [np.empty(0)], is_ + [np.empty(0, dtype=np.int64)])
    for r in range(MAX_ROUNDS if C is not None else 0):
        cm, cn = backend.map_reduce(count(sk, si), data)
        C = np.r_[0.0, np.cumsum(cm)[:-1], total]  # mass below every split, with the two ends
        sizes = cn.astype(np.float64)
        j = np.clip(np.searchsorted(C, t, side="right") - 1, 0, sk.shape[0])
        held, d = np.unique(j, return_counts=True)
        if sizes[held].sum() <= fetch_rows or r == MAX_ROUNDS - 1:
            break
        # keep the splits around the intervals holding a draw, sample new ones inside them
        rate = np.zeros(sk.shape[0] + 1)
        big = sizes[held] > 1
        rate[held[big]] = _splits_wanted(d[big], sizes[held[big]], budget) / sizes[held[big]]
        _, ks, is_ = backend.map_reduce(sample(rate, sk, si, salt=r + 2), data)
        bound = np.unique(np.r_[held - 1, held])
        bound = bound[(bound >= 0) & (bound < sk.shape[0])]
        nk, ni = sorted_splits(ks + [sk[bound]], is_ + [si[bound]])
        if nk.shape[0] == bound.shape[0]:  # nothing new was sampled: fetch what there is
            break
        sk, si = nk, ni

    flag = np.zeros(sk.shape[0] + 1, dtype=bool)
    flag[held] = True
    tk = _tie_keys(sk, si, n)

    def fetch(ch):
        key, idx, m = view(ch)
        keep = flag[_interval_of(key, idx, sk, si, tk, n)]
        return [key[keep]], [idx[keep]], [m[keep]]

    fk, fi, fm = (np.concatenate(a) for a in backend.map_reduce(fetch, data))
    if C is None:
        C, t, j = np.zeros(1), u * fm.sum(), np.zeros(u.shape[0], dtype=np.intp)
    fv = _interval_of(fk, fi, sk, si, tk, n)
    o = np.lexsort((fi, fk))
    fi, fm, fv = fi[o], fm[o], fv[o]
    # the cumulative mass of every fetched row, restarted at each interval from the mass below it
    first = np.r_[0, np.flatnonzero(np.diff(fv)) + 1]
    seg = np.repeat(np.arange(first.shape[0]), np.diff(np.r_[first, fv.shape[0]]))
    cum = np.cumsum(fm)
    cum = C[fv] + (cum - (cum[first] - fm[first])[seg])
    # each draw: the first row of its interval whose cumulative mass exceeds it (the last if
    # none), found by merging the draws into the rows sorted by (interval, cumulative mass)
    is_draw = np.r_[np.zeros(fv.shape[0], bool), np.ones(j.shape[0], bool)]
    merged = np.lexsort((is_draw, np.r_[cum, t], np.r_[fv, j]))  # a row equal to a draw first
    rows_up_to = np.cumsum(~is_draw[merged])
    at = np.empty(merged.shape[0], dtype=np.int64)
    at[merged] = np.arange(merged.shape[0])
    pos = rows_up_to[at[fv.shape[0]:]]  # rows before each draw in the merged order
    return fi[np.minimum(pos, np.searchsorted(fv, j, side="right") - 1)]
