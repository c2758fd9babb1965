"""The Gaussian family's chunk products: log densities and moments about the centre.

Every covariance type's E-step is a few large matrix products per chunk
(see :mod:`emkit.families.gaussian`); statistics accumulate in float64.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ._linalg import _whitened_moments, fill_products, safe_components

_LOG_2PI = np.log(2.0 * np.pi)
_TINY32 = float(np.finfo(np.float32).tiny)
#: per thread, the last coefficient matrices built and the parameters they came from
_LAST = threading.local()


def _coefficients(P: np.ndarray, m: np.ndarray, kind: str, lin: int, shift=None):
    """The parameter side of a chunk's log-density product, built once per pass.

    Every chunk of a pass multiplies its features by the same matrix, a
    function of the parameters only; each thread keeps the last one it
    built with the parameters it came from, and reuses it while they are
    equal (compared exactly, so a changed parameter always rebuilds).  At
    (200,000, 16, 16) full that saves rebuilding it for each of 49 chunks,
    about a quarter of the E-step's time outside the product.

    Parameters
    ----------
    P : ndarray
        ``precisions_cholesky`` in the covariance type's storage.
    m : ndarray of shape (n_components, d)
        Means minus the centre.
    kind : {"quadratic", "whiten", "tied", "diag", "spherical"}
    lin : int
        Rows of products in the feature matrix (the quadratic map's).
    shift : ndarray of shape (n_components,) or None
        Added to every component's constant (the log mixing weights, so the
        product gives the weighted log densities without another pass).

    Returns
    -------
    ndarray of shape (n_components, n_rows), or for ``"whiten"`` the
    ``(K d, d + 1)`` stacked whitening and the (K,) log determinants.
    """
    # the key is the parameters' exact bits (and shapes): equal bits, equal matrices
    key = (P.shape, m.shape, P.tobytes(), m.tobytes(), None if shift is None else shift.tobytes())
    last = getattr(_LAST, kind, None)
    if last is not None and last[0] == key:
        return last[1]
    out = _build_coefficients(P, m, kind, lin, 0.0 if shift is None else shift)
    setattr(_LAST, kind, (key, out))
    return out


@functools.lru_cache(maxsize=8)
def _upper(d: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(d)``, built once per ``d``."""
    return np.triu_indices(d)


def _build_coefficients(P, m, kind, lin, shift):
    K, d = m.shape
    const = -0.5 * d * _LOG_2PI + shift  # (K,) with the log weights
    if kind == "quadratic":
        prec = P @ np.swapaxes(P, 1, 2)  # (K, d, d)
        iu = _upper(d)
        theta = np.empty((K, lin + d + 1))
        theta[:, :lin] = -0.5 * prec[:, iu[0], iu[1]] * np.where(iu[0] == iu[1], 1.0, 2.0)
        Lm = np.einsum("kab,kb->ka", prec, m)
        theta[:, lin:lin + d] = Lm
        log_det = np.log(np.diagonal(P, axis1=1, axis2=2)).sum(axis=1)
        theta[:, -1] = const - 0.5 * (Lm * m).sum(axis=1) + log_det
        return theta
    if kind == "whiten":
        W = np.empty((d + 1, K * d))
        W[:d] = P.transpose(1, 0, 2).reshape(d, K * d)
        W[d] = -np.einsum("kd,kde->ke", m, P).reshape(K * d)
        return np.ascontiguousarray(W.T), const + np.log(np.diagonal(P, axis1=1, axis2=2)).sum(axis=1)
    if kind == "tied":
        Lm = m @ (P @ P.T)  # (K, d)
        theta = np.empty((K, d + 1))
        theta[:, :d] = Lm
        theta[:, d] = const - 0.5 * (Lm * m).sum(axis=1) + np.log(np.diag(P)).sum()
        return theta
    # diag: [x**2, x, 1]; spherical: [|x|**2, x, 1]
    prec = P**2 if kind == "diag" else np.broadcast_to((P**2)[:, None], (K, d))
    log_det = np.log(P).sum(axis=1) if kind == "diag" else d * np.log(P)
    quad = -0.5 * (prec if kind == "diag" else P[:, None] ** 2)
    return np.concatenate([quad, m * prec,
                           (const - 0.5 * (m * m * prec).sum(axis=1) + log_det)[:, None]], axis=1)


class _Split(tuple):
    """Cache of a chunk whose full-covariance components took two routes:
    ``(F, Yt, S, P, m)``, the feature matrix, the whitened rows of the
    components ``S`` (indices), those indices, and the parameters."""


def _whiten(F, lin, P, m, shift, dt, which=None):
    """Log densities by the stacked whitening ``y = x P_k - m_k P_k`` (of the
    components ``which``, all when None) and the whitened rows, ``(K' d, n)``."""
    K, d = m.shape
    Wt, const = _coefficients(P, m, "whiten", lin, shift)  # const: (K,), log det included
    if which is not None:
        Wt, const = Wt.reshape(K, d, d + 1)[which].reshape(-1, d + 1), const[which]
    Yt = Wt.astype(dt) @ F[lin:]  # (K' d, n): component-major, rows contiguous
    # sum of squares per component, over each component's d contiguous rows
    Y3 = Yt.reshape(-1, d, Yt.shape[1])
    sq = np.einsum("kdn,kdn->kn", Y3, Y3).T
    return const - 0.5 * sq.astype(np.float64), Yt


def log_densities(F: np.ndarray, lin: int, P: np.ndarray, m: np.ndarray,
                  covariance_type: str, shift=None, filled: bool = True) -> tuple[np.ndarray, object]:
    """Log density of every row of a chunk under every component, and the cache.

    Parameters
    ----------
    F : ndarray of shape (n_rows, n_samples)
        Transposed, centred feature matrix (:func:`~._linalg.feature_rows`):
        ``lin`` rows of products, ``d`` rows of values, a row of ones.
    lin : int
    P : ndarray
        ``precisions_cholesky`` in the covariance type's storage.
    m : ndarray of shape (n_components, d)
        Means minus the centre, float64.
    covariance_type : {"full", "tied", "diag", "spherical"}
    shift : ndarray of shape (n_components,) or None
        Finite values added to every row's log densities (the log mixing
        weights): they ride on the row of ones, i.e. on each component's
        constant, instead of costing a pass over the ``(n, K)`` result.
    filled : bool, default=True
        Whether the quadratic map's product rows of ``F`` are filled; when
        False they are filled here if some component uses them.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components), float64
    cache : ndarray or tuple
        What :func:`moments` of the same chunk reuses.
    """
    dt = F.dtype
    d = F.shape[0] - lin - 1
    K = m.shape[0]
    ct = covariance_type
    cache = F
    safe = (safe_components(F[lin:lin + d], P, m) if ct == "full" and lin and dt == np.float64
            else np.zeros(K, dtype=bool))
    if ct == "full" and safe.any():
        # log N = -1/2 x'Lx + x'L m - 1/2 m'L m + log det P: one product
        if not filled:
            fill_products(F, lin)
        lp = (_coefficients(P, m, "quadratic", lin, shift) @ F).T
        if not safe.all():
            # components whose expansion would lose digits to cancellation (thin
            # ones far from the centre) are whitened: the (n, K) result is
            # column-major, so each replaced column is contiguous
            S = np.flatnonzero(~safe)
            lp[:, S], Yt = _whiten(F, lin, P, m, shift, dt, S)
            cache = _Split((F, Yt, S, P, m))
    elif ct == "full":
        # float32 (wide features, or no component safe to expand): whiten all
        # components at once, y = x P_k - m_k P_k, as one (n, d) x (d, K*d)
        # product (the shift rides on the row of ones: [x, 1] times [P; -m P])
        lp, Yt = _whiten(F, lin, P, m, shift, dt)
        cache = (F, Yt, P, m)
    elif ct == "tied":
        # x'Lx shared by every component: whiten once
        Y = F[:d].T @ P.astype(dt)
        quad = np.einsum("ij,ij->i", Y, Y, dtype=np.float64)
        lp = np.asarray((_coefficients(P, m, ct, lin, shift).astype(dt) @ F).T, dtype=np.float64)
        lp -= 0.5 * quad[:, None]
    else:
        # diag / spherical: one product of [x**2, x, 1] (spherical: [|x|**2, x, 1]) with a (K, m) matrix
        lp = (_coefficients(P, m, ct, lin, shift).astype(dt) @ F).T
    # lp is the transpose of a (K, n) product: column-major (n, K), so the
    # engine's row-wise reductions run along contiguous memory
    return np.asarray(lp, dtype=np.float64), cache


def cached_moments(cache, resp: np.ndarray, covariance_type: str) -> dict:
    """:func:`moments` from what :func:`log_densities` of the same chunk returned.

    Parameters
    ----------
    cache : ndarray or tuple
        The second value :func:`log_densities` returned.
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities times the sample weights.
    covariance_type : str

    Returns
    -------
    dict
        As :func:`moments`.
    """
    if isinstance(cache, _Split):
        # expanded components from the one product of the quadratic map, the
        # whitened ones (S) from their residuals about their own means
        F, Yt, S, P, m = cache
        out = moments(F, F.shape[0] - m.shape[1] - 1, resp, covariance_type)
        part = _whitened_moments(resp[:, S], F, Yt, P[S], m[S])
        sx, sxx, nk = np.array(out["sx"]), out["sxx"], np.array(out["nk"])
        sx[S], sxx[S], nk[S] = part["sx"], part["sxx"], part["nk"]
        return {"sx": sx, "sxx": sxx, "nk": nk}
    if isinstance(cache, tuple):
        return _whitened_moments(resp, *cache)
    raise TypeError("cached_moments needs the tuple cache of the whitened route")


def moments(F: np.ndarray, lin: int, resp: np.ndarray, covariance_type: str) -> dict:
    """Weighted first and second moments of a chunk about the centre.

    Parameters
    ----------
    F : ndarray of shape (n_rows, n_samples)
        The chunk's feature matrix (as for :func:`log_densities`).
    lin : int
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities times the sample weights.
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    stats : dict
        ``sx`` (K, d) and ``sxx``: (K, d, d) full, (d, d) total scatter for
        tied, (K, d) for diag and spherical; for float64 chunks also ``nk``
        (K,), the summed responsibilities.
    """
    d = F.shape[0] - lin - 1
    K = resp.shape[1]
    ct = covariance_type
    r = resp.astype(F.dtype, copy=False)
    if r.dtype == np.float32:
        # responsibilities below float32's normal range would become
        # subnormals, which slow the product down by orders of magnitude
        np.copyto(r, 0.0, where=r < _TINY32)
    # one (m, n) x (n, K) product gives every first and second moment, and
    # through the row of ones the summed responsibilities (float64 only: a
    # float32 product would sum them in float32)
    S = np.asarray(F @ r, dtype=np.float64)
    sx = S[lin:lin + d].T
    out = {"sx": sx, "nk": S[-1]} if F.dtype == np.float64 else {"sx": sx}
    if ct == "diag":
        return {"sxx": S[:d].T, **out}
    if ct == "spherical":
        # one row of squared norms: each component's total, spread evenly over the
        # features (the spherical M-step uses only the sum over features)
        return {"sxx": np.repeat(S[0][:, None] / d, d, axis=1), **out}
    if ct == "tied":  # total weighted scatter; rows of resp sum to the sample weight
        Xt = F[:d]
        w = resp.sum(axis=1)
        Xw = Xt if np.all(w == 1.0) else Xt * w.astype(F.dtype)
        return {"sxx": np.asarray(Xw @ Xt.T, dtype=np.float64), **out}
    if lin:
        iu = _upper(d)
        sxx = np.empty((K, d, d))
        sxx[:, iu[0], iu[1]] = S[:lin].T
        sxx[:, iu[1], iu[0]] = S[:lin].T
        return {"sxx": sxx, **out}
    # wide features: stacked responsibilities times rows, (d, n) x (n, K*d)
    Xc = F[:d].T
    RX = (r[:, :, None] * Xc[:, None, :]).reshape(-1, K * d)
    sxx = np.asarray(F[:d] @ RX, dtype=np.float64).reshape(d, K, d).transpose(1, 0, 2)
    return {"sxx": sxx, **out}
