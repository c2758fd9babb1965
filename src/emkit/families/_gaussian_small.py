"""A low-overhead E-step of the Gaussian family for small in-memory data.

On a few hundred rows the arithmetic of an E-step takes microseconds, and
the generic path (:func:`emkit.engine.em.e_step_chunk` with the family's
``log_prob_cached`` and ``suff_stats``) spends 100-250 us in the fixed cost
of some sixty NumPy calls: rebuilding the chunk's feature rows, centring it,
checks, index arrays, context managers.  Model selection over K and four
covariance types on such data makes thousands of passes (issue 9), so this
module does the same E-step in about twenty calls:

- the feature matrix of the data (``[x_a x_b (a <= b), x, 1]`` for full and
  tied covariance, ``[x**2, x, 1]`` for diagonal and spherical; ``x`` the row
  minus the family's centre), its reach and, for tied
  covariance, the weighted total scatter depend on the data alone: they are
  built once per data set and kept in a small cache (:data:`MAX_ROWS` rows
  and :data:`MAX_FEATURE_VALUES` values at most, so it stays small); data of
  several chunks takes a column slice of them per chunk;
- the log densities of all components are one product ``F' theta`` whose
  coefficient matrix ``theta`` (shape (m, K)) carries the log mixing weights
  in its row of constants, so the log-sum-exp needs no separate addition;
- one product ``F r`` gives every first and second moment and, from the row
  of ones, ``nk``; shares below ``exp(-600)`` of a row's largest are exactly
  zero (:mod:`._shares`: subnormal ones would slow every step after ``exp``).

The arithmetic is the expanded quadratic form of the generic full-covariance
path (``x'Lx - 2 x'Lm + m'Lm``), taken only where
:func:`~._linalg.safe_components`' bound, taken per component with its own
``trace(L_k)`` and ``|m_k|`` and the data's per-feature reach, says it loses
less than about 1e-8 to cancellation; past that bound (a narrow component far
from the centre, common on rounded data, or a component emptying in a fit
with more components than the data hold) that component's log densities come
from whitened residuals ``||L_k' (x - m_k)||^2`` instead, as the generic
path's whitened route (tied covariance: all components, their precision is
shared), and the other components keep the one product.  Results agree with the generic path to rounding.  A
chunk this path does not cover (larger, float32, side data, wide features,
or any row without a finite log density) gets None and goes the generic way.
"""

from __future__ import annotations

import threading
import weakref
from functools import lru_cache

import numpy as np

from ._linalg import uses_quadratic_map
from ._shares import flush_tiny

#: largest number of rows taken by this path (the batched kernel of
#: :mod:`._gaussian_batch` has its own, smaller bound); larger data goes the
#: generic way
MAX_ROWS = 2**16
#: most values of a cached feature matrix (16 MiB of float64): wider data is
#: left to the generic path, so the cache (:data:`_CACHE_SIZE` entries) stays small
MAX_FEATURE_VALUES = 2**21
#: most features for tied covariance (its quadratic map has d (d + 1) / 2 rows)
MAX_TIED_FEATURES = 8
#: data sets whose features are kept
_CACHE_SIZE = 4
_LOG_2PI = float(np.log(2.0 * np.pi))
_EPS = float(np.finfo(np.float64).eps)
_CACHE: dict = {}
_LOCK = threading.Lock()


class _Features:
    """What the E-step needs from one data set: feature rows and data-only constants."""

    __slots__ = ("X", "w", "centre", "key", "quadratic", "F", "lin", "reach2",
                 "unweighted", "w_pos", "positive", "scatter", "same_w")

    def __init__(self, X, w, centre, quadratic):
        n, d = X.shape
        self.X, self.w, self.centre, self.quadratic = X, w, centre, quadratic
        self.key = centre.tobytes()
        lin = d * (d + 1) // 2 if quadratic else d
        F = np.empty((lin + d + 1, n))
        Xt = F[lin:lin + d]
        np.subtract(X.T, centre[:, None], out=Xt)
        F[-1] = 1.0
        if quadratic:
            start = 0
            for a in range(d):  # over features, not components: d (d + 1) / 2 rows
                np.multiply(Xt[a], Xt[a:], out=F[start:start + d - a])
                start += d - a
        else:
            np.multiply(Xt, Xt, out=F[:d])
        self.F, self.lin = F, lin
        reach = np.maximum(Xt.max(axis=1), -Xt.min(axis=1)) if n else np.zeros(d)
        self.reach2 = float(reach @ reach)
        self.unweighted = bool(n == 0 or (w.min() == 1.0 and w.max() == 1.0))
        self.positive = w > 0
        self.w_pos = w[self.positive]
        self.scatter = None
        self.same_w = None  # a weak reference to another array of the same weights
        if quadratic:  # weighted total scatter about the centre (tied covariance's sxx)
            self.scatter = _layout(d)[2](F[:lin] @ w, 1)[0]

    def matches(self, X, w, centre) -> bool:
        """Same rows (the same array), same centre and the same weights.

        Every fit validates its own weight array (a new array of ones when it
        has none), so weights equal to the entry's in a new array count too;
        the last such array is remembered, and the values are compared once
        per array instead of the features being built again for every fit.
        """
        if self.X is not X or self.key != centre.tobytes():
            return False
        if w is self.w or (self.same_w is not None and self.same_w() is w):
            return True
        if w.shape == self.w.shape and np.array_equal(w, self.w):
            self.same_w = weakref.ref(w)
            return True
        return False


def _features_for(X, w, centre, covariance_type: str, n_components: int):
    """The feature rows of :func:`_features` for ``covariance_type`` with
    ``n_components`` components, or None where the fused path does not apply (full
    covariances past the quadratic-map bound, tied past ``MAX_TIED_FEATURES``, a
    feature matrix of more than ``MAX_FEATURE_VALUES`` values)."""
    n, d = X.shape
    ct = covariance_type
    if (ct == "full" and not uses_quadratic_map(d, n_components)) or (
        ct == "tied" and d > MAX_TIED_FEATURES
    ):
        return None
    quadratic = ct in ("full", "tied")
    if ((d * (d + 1) // 2 if quadratic else d) + d + 1) * n > MAX_FEATURE_VALUES:
        return None
    return _features(X, w, centre, quadratic)


def fits_cache(X, covariance_type: str) -> bool:
    """Whether ``X`` is small enough for this path's cached feature rows
    (:data:`MAX_ROWS` rows, :data:`MAX_FEATURE_VALUES` values)."""
    n, d = X.shape
    quadratic = covariance_type in ("full", "tied")
    return n <= MAX_ROWS and ((d * (d + 1) // 2 if quadratic else d) + d + 1) * n <= MAX_FEATURE_VALUES


def _features(X, w, centre, quadratic: bool) -> _Features:
    key = (id(X), quadratic)
    # under the lock: the chunks of one pass, mapped over threads, build the entry once
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit.matches(X, w, centre):
            return hit
        entry = _Features(X, w, np.array(centre, dtype=np.float64, copy=True), quadratic)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = entry
    return entry


@lru_cache(maxsize=32)
def _layout(d: int):
    """Index arrays of the quadratic map for ``d`` features.

    Returns ``(flat, coef, unpack, diag)``: positions of the upper triangle
    in a flattened (d, d) matrix, the coefficients ``-1/2`` (diagonal) and
    ``-1`` (off the diagonal) of ``x'Lx`` on those products, a function that
    turns (K, lin) triangles into symmetric (K, d, d) matrices, and the
    positions of the diagonal in a flattened matrix.
    """
    iu = np.triu_indices(d)
    flat = iu[0] * d + iu[1]
    coef = np.where(iu[0] == iu[1], -0.5, -1.0)
    tri = np.empty((d, d), dtype=np.intp)
    tri[iu] = np.arange(iu[0].size)
    tri[iu[1], iu[0]] = tri[iu]
    full = tri.ravel()

    def unpack(S, K):
        return S.reshape(K, -1)[:, full].reshape(K, d, d)

    return flat, coef, unpack, np.arange(0, d * d, d + 1)


def _whitened(Xt, P3, m, shift):
    """Log densities from whitened residuals, ``shift_k - ||L_k' (x - m_k)||^2 / 2``.

    Parameters
    ----------
    Xt : ndarray of shape (n_features, n_samples)
        Centred rows, transposed.
    P3 : ndarray of shape (k, n_features, n_features)
        Precision Cholesky factors of the ``k`` components taken.
    m : ndarray of shape (k, n_features)
        Their centred means.
    shift : ndarray of shape (k,)
        Their log normalising constants plus log weights.

    Returns
    -------
    ndarray of shape (k, n_samples)
    """
    y = np.matmul(P3.transpose(0, 2, 1), Xt[None] - m[:, :, None])  # one (k, d, n) product
    lp = -0.5 * np.einsum("kdn,kdn->kn", y, y)
    lp += shift[:, None]
    return lp


def small_e_step(covariance_type: str, X, w, centre, params, labels=None, rows=None):
    """Statistics and weighted log-likelihood of all of a small data set, or of its rows
    ``rows[0]:rows[1]`` (one chunk of a pass; the features are cached for the whole set).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
        Storage layout of ``params``.
    X : ndarray of shape (n_samples, n_features)
        The whole data (the cache knows it by identity; it must not change).
    w : ndarray of shape (n_samples,)
        Sample weights.
    centre : ndarray of shape (n_features,)
        Point about which ``sx`` and ``sxx`` are taken.
    params : dict
        ``weights``, ``means`` and ``precisions_cholesky``.
    labels : ndarray of shape (n_samples,) or None
        Filled with every row's most likely component (of the chunk's rows
        with ``rows``).
    rows : (int, int) or None
        The chunk ``start, stop`` of ``X``'s rows to take; None for all.

    Returns
    -------
    (stats, loglik) or None
        ``stats``: ``nk`` (K,), ``sx`` (K, d) and ``sxx`` ((K, d, d) full,
        (d, d) tied, (K, d) diag and spherical) about ``centre``;
        ``loglik``: ``sum_i w_i log p(x_i)``.  None where this path does not
        apply (see the module's notes).
    """
    if type(X) is not np.ndarray or X.dtype != np.float64 or X.shape[0] > MAX_ROWS:
        return None
    n, d = X.shape
    means = params["means"]
    K = means.shape[0]
    ct = covariance_type
    dense = ct in ("full", "tied")
    feats = _features_for(X, w, centre, ct, K)
    if feats is None:
        return None
    F, lin = feats.F, feats.lin
    unweighted, w_pos, positive, scatter = feats.unweighted, feats.w_pos, feats.positive, feats.scatter
    if rows is not None and (rows[0], rows[1]) != (0, n):
        a, b = rows
        F, w = F[:, a:b], w[a:b]
        if not unweighted:
            positive = w > 0
            w_pos = w[positive]
        if ct == "tied":  # the chunk's own share of the total scatter
            scatter = _layout(d)[2](F[:lin] @ w, 1)[0]
    P = np.asarray(params["precisions_cholesky"], dtype=np.float64)
    m = means - feats.centre
    theta = None
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_w = np.log(params["weights"])
        const = -0.5 * d * _LOG_2PI
        if dense:
            P3 = P.reshape(-1, d, d)  # (K, d, d) full, (1, d, d) tied
            flat, coef, unpack, diag = _layout(d)
            log_det = np.log(P3.reshape(-1, d * d)[:, diag]).sum(axis=1)
            # per component (tied: its one precision with the farthest mean), whether
            # the expanded form would cancel: a narrow component far from the centre
            r2 = (m * m).sum(axis=1) if ct == "full" else (m * m).sum(axis=1).max(keepdims=True)
            unsafe = ~(8.0 * (d + 1) * _EPS * (P3 * P3).sum(axis=(1, 2))
                       * np.maximum(feats.reach2, r2) < 1e-8)
            whiten = np.flatnonzero(unsafe) if ct == "full" else np.arange(K if unsafe[0] else 0)
        if dense and whiten.size == K:
            # whitened residuals, ||L_k' (x - m_k)||^2, one (K, d, n) product
            lp = _whitened(F[lin:lin + d], P3, m, const + log_det + log_w)
        elif dense:
            theta = np.empty((F.shape[0], K))
            prec = np.matmul(P3, P3.transpose(0, 2, 1)).reshape(-1, d * d)
            theta[:lin] = (prec[:, flat] * coef).T
            if ct == "full":
                Lm = np.matmul(prec.reshape(K, d, d), m[:, :, None])[:, :, 0]
            else:
                Lm = m @ prec.reshape(d, d)
            theta[lin:lin + d] = Lm.T
            theta[-1] = const - 0.5 * (Lm * m).sum(axis=1) + log_det + log_w
        else:
            theta = np.empty((F.shape[0], K))
            prec = P * P if ct == "diag" else (P * P)[:, None]
            log_det = np.log(P).sum(axis=1) if ct == "diag" else d * np.log(P)
            theta[:d] = -0.5 * prec.T
            theta[d:2 * d] = (m * prec).T
            theta[-1] = const - 0.5 * (m * m * prec).sum(axis=1) + log_det + log_w
        if theta is not None:  # (K, n): the reductions over components run along contiguous rows
            lp = theta.T @ F
            if dense and whiten.size:  # only the components whose expanded form would cancel
                lp[whiten] = _whitened(F[lin:lin + d], P3[whiten], m[whiten],
                                       (const + log_det + log_w)[whiten])
        mx = lp.max(axis=0)
        if not np.isfinite(mx.sum()):
            return None  # a row without a finite log density: the generic path handles it
        lp -= mx
        flush_tiny(lp)
        np.exp(lp, out=lp)
        s = lp.sum(axis=0)
        lp /= s
        if labels is not None:
            labels[:] = lp.argmax(axis=0)
        if unweighted:
            loglik = float(np.log(s).sum() + mx.sum())
        else:
            log_norm = np.log(s) + mx
            lp *= w
            loglik = float(np.dot(w_pos, log_norm[positive]))
    S = F @ lp.T  # (m, K): every moment, and nk from the row of ones
    stats = {"nk": S[-1].copy(), "sx": S[lin:lin + d].T.copy()}
    if ct == "full":
        stats["sxx"] = unpack(S[:lin].T, K)
    elif ct == "tied":
        stats["sxx"] = scatter.copy()
    elif ct == "diag":
        stats["sxx"] = S[:d].T.copy()
    else:  # spherical: the total over the features, spread evenly (as the generic path)
        stats["sxx"] = np.repeat(S[:d].sum(axis=0)[:, None] / d, d, axis=1)
    return stats, loglik
