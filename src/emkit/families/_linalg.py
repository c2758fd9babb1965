"""Batched Cholesky factors over components and the moment kernels of the Gaussian E-step."""

from __future__ import annotations

import numpy as np

_EPS64 = float(np.finfo(np.float64).eps)


class SingularCovarianceError(ValueError):
    """A covariance matrix is not positive definite."""


def singular_message(which: str, reg_covar: float) -> str:
    return (
        f"the covariance of {which} is singular or not positive definite, so the fit cannot "
        f"continue; increase reg_covar (now {reg_covar:g}), scale the data, or use fewer components"
    )


def precision_cholesky_full(cov: np.ndarray, reg_covar: float, label: str = "component") -> np.ndarray:
    """Upper-triangular ``P`` with ``P @ P.T`` the precision, for a stack of covariances.

    Parameters
    ----------
    cov : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    prec_chol : ndarray of shape (n_components, n_features, n_features)

    Raises
    ------
    SingularCovarianceError
        Naming the first component whose covariance is not positive definite.
    """
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        bad = _first_not_pd(cov)
        which = f"{label} {bad}" if label == "component" else label
        raise SingularCovarianceError(singular_message(which, reg_covar)) from None
    if not np.all(np.isfinite(L)):
        raise SingularCovarianceError(singular_message(label, reg_covar))
    # inv(L) is solve(L, I) (the same LAPACK gesv, the same bits) without the identity stack
    return np.swapaxes(np.linalg.inv(L), -1, -2)


def _first_not_pd(cov: np.ndarray) -> int:
    # error path only: find which matrix of the stack failed
    for k in range(cov.shape[0]):
        try:
            np.linalg.cholesky(cov[k])
        except np.linalg.LinAlgError:
            return k
    return 0


def _whitened_moments(resp, F, Yt, P, m) -> dict:
    """Full-covariance statistics from whitened residuals, about the centre.

    Used for float32 chunks: the second moments are taken about each
    component's current mean, where they are small, with float32 products
    (``Y_k' diag(r_k) Y_k`` for all ``k`` in one batched product), and only
    then moved to the common centre in float64.  Taken directly about the
    centre in float32, the moments of a component far from it would lose
    digits to cancellation in the M-step.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Weighted responsibilities.
    F : ndarray of shape (n_features + 1, n_samples)
        Centred rows (transposed) and a row of ones.
    Yt : ndarray of shape (n_components * n_features, n_samples)
        ``(x - mean_k) P_k`` for every component, transposed.
    P : ndarray of shape (n_components, n_features, n_features)
    m : ndarray of shape (n_components, n_features)
        Means minus the centre.

    Returns
    -------
    dict
        ``sx`` (K, d) and ``sxx`` (K, d, d) about the centre, and ``nk`` (K,),
        float64.
    """
    n = Yt.shape[1]
    K, d = m.shape
    rt = resp.T.astype(Yt.dtype)  # (K, n)
    np.copyto(rt, 0.0, where=rt < np.finfo(Yt.dtype).tiny)
    Y3 = Yt.reshape(K, d, n)
    RY = Y3 * rt[:, None, :]
    # K products (d, n) x (n, d) in one batched call
    G = np.asarray(np.matmul(RY, Y3.transpose(0, 2, 1)), dtype=np.float64)
    # (K, d): sum_i r_ik y_ik, accumulated in float64 (for float64, a product with ones
    # is faster than the sum)
    if RY.dtype == np.float64:
        s1y = RY @ np.ones(n)
    else:
        s1y = RY.sum(axis=2, dtype=np.float64)
    Pinv = np.linalg.inv(P)  # y = u P, so u = y P^-1
    U = np.swapaxes(Pinv, 1, 2) @ G @ Pinv
    s1 = np.einsum("kd,kde->ke", s1y, Pinv)  # sum_i r_ik (x_i - mean_k)
    nk = resp.sum(axis=0)
    sxx = (U + s1[:, :, None] * m[:, None, :] + m[:, :, None] * s1[:, None, :]
           + nk[:, None, None] * m[:, :, None] * m[:, None, :])
    return {"sx": s1 + nk[:, None] * m, "sxx": sxx, "nk": nk}


def safe_components(Xt: np.ndarray, P: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per component, whether its expanded quadratic form loses less than ~1e-8.

    The expanded form ``x'Lx - 2 x'Lm + m'Lm`` rounds each term to about
    ``eps * lambda_max(L) * R**2`` (``R`` bounding ``|x - c|`` and ``|m|``),
    which grows without bound for a component collapsing onto a point; the
    whitened form ``|x P - m P|**2`` does not.  ``lambda_max`` is bounded by
    ``trace(L) = ||P||_F**2``.  The bound is taken for each component ``k``
    with its own ``trace(L_k)`` and ``|m_k|``, and ``R`` the chunk's largest
    row norm ``max_i |x_i - c|``: a thin component far from the centre is
    whitened alone instead of sending every component of the chunk to the
    slower whitened form.

    Parameters
    ----------
    Xt : ndarray of shape (n_features, n_samples)
        Centred rows, transposed.
    P : ndarray of shape (n_components, n_features, n_features)
    m : ndarray of shape (n_components, n_features)
        Centred means.

    Returns
    -------
    ndarray of shape (n_components,), bool
    """
    d = Xt.shape[0]
    x2 = float(np.einsum("dn,dn->n", Xt, Xt).max()) if Xt.shape[1] else 0.0
    r2 = np.maximum(x2, (m * m).sum(axis=1))
    lam = (P * P).sum(axis=(1, 2))
    return 8.0 * (d + 1) * _EPS64 * lam * r2 < 1e-8


def _outer_rows(Xt: np.ndarray, out: np.ndarray) -> None:
    """Products ``x_a * x_b`` for ``a <= b`` of transposed rows, into ``out``.

    Parameters
    ----------
    Xt : ndarray of shape (n_features, n_samples)
    out : ndarray of shape (n_features * (n_features + 1) // 2, n_samples)
        Filled in row-major upper-triangle order (as ``np.triu_indices``).
    """
    d = Xt.shape[0]
    start = 0
    for a in range(d):  # over features (not components), each a contiguous product
        np.multiply(Xt[a], Xt[a:], out=out[start:start + d - a])
        start += d - a

def uses_quadratic_map(d: int, n_components: int) -> bool:
    """Whether full covariance uses the quadratic feature map.

    The map ``[x_a x_b (a <= b), x, 1]`` turns the E-step and the M-step
    into one ``(n, m) x (m, K)`` product each, with no ``(n, K * d)``
    temporary; it pays while ``m = d (d + 1) / 2 + d + 1`` stays below
    about ``K * d``.
    """
    return d * (d + 1) // 2 + d + 1 <= max(2 * n_components * d, 16)


def feature_rows(X: np.ndarray, centre: np.ndarray, covariance_type: str, n_components: int,
                 products: bool = True):
    """Transposed feature matrix of one chunk, centred, in the chunk's dtype.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    centre : ndarray of shape (n_features,)
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components : int
    products : bool, default=True
        Whether to fill the quadratic map's product rows; False leaves them
        unset (see :func:`fill_products`) for a caller that may not need them.

    Returns
    -------
    F : ndarray of shape (m, n_samples)
        Rows: for full covariance with the quadratic map, the products
        ``x_a x_b`` (``a <= b``, row-major upper triangle), then ``x``,
        then ones; for diag ``x**2``, ``x``, ones; for spherical
        ``|x|**2``, ``x``, ones; otherwise ``x`` and ones.  ``x`` is the row minus the centre.
    lin : int
        Index of the first row of ``x``.
    """
    dt = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    n, d = X.shape
    ct = covariance_type
    if ct == "full" and uses_quadratic_map(d, n_components):
        # the quadratic map's products are the big cancellation-prone sums: they
        # run in float64 for float32 chunks too (built straight from the float32
        # rows: a chunk-sized temporary, never a float64 copy of X)
        dt = np.float64
        lin = d * (d + 1) // 2
    elif ct in ("diag", "spherical"):
        # squares and their sums in float64: float32 about one global centre lost
        # digits for components far from it (issue 10, item 4); spherical
        # covariance needs only each row's sum of squares, one row instead of d
        dt = np.float64
        lin = d if ct == "diag" else 1
    else:
        lin = 0
        if ct != "full":  # tied: the whitening and the scatter in float64 too
            dt = np.float64
    F = np.empty((lin + d + 1, n), dtype=dt)
    Xt = F[lin:lin + d]
    np.subtract(X.T, centre.astype(dt)[:, None], out=Xt)
    F[-1] = 1.0
    if ct == "diag":
        np.multiply(Xt, Xt, out=F[:d])
    elif ct == "spherical":
        np.einsum("dn,dn->n", Xt, Xt, out=F[0])
    elif lin and products:
        _outer_rows(Xt, F[:lin])
    return F, lin


def fill_products(F: np.ndarray, lin: int) -> None:
    """Fill the product rows ``F[:lin]`` of a full-covariance feature matrix
    built with ``products=False`` (:func:`feature_rows`)."""
    d = F.shape[0] - lin - 1
    _outer_rows(F[lin:lin + d], F[:lin])
