"""Gaussian covariance structures: shapes, checks of user values, conversions,
and the unconstrained coordinates of the accelerated EM.

The four covariance types store covariances (and precision Cholesky factors)
with scikit-learn's shapes: (K, d, d) full, (d, d) tied, (K, d) diag and
(K,) spherical.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._linalg import SingularCovarianceError, precision_cholesky_full, singular_message

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@lru_cache(maxsize=64)
def _indices(d: int):
    """Read-only ``(rows, cols)`` of the strictly lower triangle and ``arange(d)`` (the diagonal)."""
    il = np.tril_indices(d, -1)
    out = (il[0], il[1], np.arange(d))
    for a in out:
        a.setflags(write=False)
    return out


def full_matrices(cov, covariance_type: str, n_components: int, n_features: int) -> np.ndarray:
    """Covariances of any type as full matrices, shape (n_components, n_features, n_features)."""
    cov = np.asarray(cov, dtype=np.float64)
    K, d = n_components, n_features
    if covariance_type == "full":
        return cov
    if covariance_type == "tied":
        return np.broadcast_to(cov, (K, d, d)).copy()
    if covariance_type == "diag":
        return cov[:, :, None] * np.eye(d)[None]
    return cov[:, None, None] * np.eye(d)[None]


def precisions_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precisions (``precisions_``) from their Cholesky factors, same layout."""
    P = np.asarray(prec_chol)
    if covariance_type == "full":
        return P @ np.swapaxes(P, -1, -2)
    if covariance_type == "tied":
        return P @ P.T
    return P**2


def check_covariances(covariances, covariance_type: str, n_components: int, n_features: int,
                      name: str = "precisions_init") -> np.ndarray:
    """Validate user matrices (covariances or precisions) of a covariance type.

    Returns the array as float64; raises ValueError naming the problem.
    """
    arr = np.asarray(covariances, dtype=np.float64)
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    expected = shapes[covariance_type]
    if arr.shape != expected:
        raise ValueError(
            f"{name} has shape {arr.shape}, but covariance_type={covariance_type!r} with "
            f"n_components={n_components} and {n_features} features needs shape {expected}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if covariance_type in ("full", "tied"):
        mats = arr if covariance_type == "full" else arr[None]
        if not np.allclose(mats, np.swapaxes(mats, -1, -2)):
            k = int(np.flatnonzero(~np.all(np.isclose(mats, np.swapaxes(mats, -1, -2)), axis=(1, 2)))[0])
            raise ValueError(f"{name}[{k}] is not symmetric" if covariance_type == "full" else f"{name} is not symmetric")
        eig = np.linalg.eigvalsh(mats).min(axis=1)
        if np.any(eig <= 0):
            k = int(np.flatnonzero(eig <= 0)[0])
            where = f"{name}[{k}]" if covariance_type == "full" else name
            raise ValueError(f"{where} is not positive definite (smallest eigenvalue {eig[k]:.3g})")
    elif np.any(arr <= 0):
        idx = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(arr.ravel() <= 0)[0]), arr.shape))
        raise ValueError(f"{name} must be positive; {name}{list(idx)} = {arr[idx]:g}")
    return arr


def precisions_from_covariances(covariances, covariance_type: str, n_components: int,
                                n_features: int, name: str = "covariances") -> np.ndarray:
    """Checked user covariances of a storage layout turned into precisions (same layout).

    Parameters
    ----------
    covariances : array-like
        (K, d, d) full, (d, d) tied, (K, d) diag or (K,) spherical.
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components, n_features : int
    name : str
        What the values are called in messages.

    Returns
    -------
    precisions : ndarray of the same shape
    """
    cov = check_covariances(covariances, covariance_type, n_components, n_features, name)
    if covariance_type in ("full", "tied"):
        prec = np.linalg.inv(cov)
        return 0.5 * (prec + np.swapaxes(prec, -1, -2))
    return 1.0 / cov


def precisions_to_params(precisions: np.ndarray, covariance_type: str, reg_covar: float):
    """Covariances and precision Cholesky factors from user precisions."""
    if covariance_type in ("full", "tied"):
        mats = precisions if covariance_type == "full" else precisions[None]
        d = mats.shape[-1]
        cov = np.linalg.solve(mats, np.broadcast_to(np.eye(d), mats.shape))
        cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        prec_chol = precision_cholesky_full(cov, reg_covar)
        if covariance_type == "tied":
            return cov[0], prec_chol[0]
        return cov, prec_chol
    return 1.0 / precisions, np.sqrt(precisions)


def check_stored_covariances(ct: str, covariances, precisions_cholesky) -> None:
    """Raise ValueError unless stored covariances are valid and match their precision factors.

    Parameters
    ----------
    ct : {"full", "tied", "diag", "spherical"}
        Storage layout.
    covariances, precisions_cholesky : ndarray
        Shapes of the layout, finite (checked before).
    """
    cov = np.asarray(covariances, dtype=np.float64)
    P = np.asarray(precisions_cholesky, dtype=np.float64)
    if ct in ("full", "tied"):
        covs, Ps = (cov, P) if ct == "full" else (cov[None], P[None])
        if not np.allclose(covs, np.swapaxes(covs, 1, 2), rtol=1e-10, atol=0.0):
            raise ValueError("covariances are not symmetric")
        eig = np.linalg.eigvalsh(covs).min(axis=1)
        if np.any(eig <= 0):
            raise ValueError(f"covariance {int(np.argmin(eig))} is not positive definite")
        diag = np.diagonal(Ps, axis1=1, axis2=2)
        if np.any(diag <= 0):
            raise ValueError("precisions_cholesky do not match the covariances (diagonal <= 0)")
        # P P' is the inverse of the covariance: cov P P' = I to rounding
        prod = covs @ Ps @ np.swapaxes(Ps, 1, 2)
        err = np.abs(prod - np.eye(cov.shape[-1])).max(axis=(1, 2))
        cond = np.linalg.cond(covs)
        if np.any(~(err <= 1e-6 * np.maximum(cond, 1.0))):
            raise ValueError("precisions_cholesky do not match the covariances")
    else:
        if np.any(cov <= 0):
            raise ValueError("covariances must be positive")
        if np.any(P <= 0) or not np.allclose(P * P * cov, 1.0, rtol=1e-8, atol=0.0):
            raise ValueError("precisions_cholesky do not match the covariances")


def check_means(means, n_components: int, n_features: int) -> np.ndarray:
    """User initial means as float64 of shape (n_components, n_features), finite."""
    K, d = n_components, n_features
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (K, d):
        raise ValueError(f"means_init has shape {means.shape}, but n_components={K} with "
                         f"{d} features needs shape ({K}, {d})")
    if not np.all(np.isfinite(means)):
        raise ValueError("means_init contains NaN or inf")
    return means


def covariances_to_unconstrained(cov: np.ndarray, covariance_type: str, sd: np.ndarray) -> dict:
    """Unconstrained coordinates of stored covariances, for the accelerated EM.

    Full and tied: the log of the diagonal (``cov_log_diag``, shape (..., d))
    and the strictly lower triangle (``cov_offdiag``, shape (..., d (d - 1) / 2))
    of the Cholesky factor of the covariance standardised by the features'
    standard deviations ``sd`` (shape (d,)); diag and spherical: ``cov_log``,
    the log variances.
    """
    if covariance_type in ("full", "tied"):
        L = np.linalg.cholesky(cov) / sd[:, None]  # rows scaled: the standardised factor
        i0, i1, _ = _indices(L.shape[-1])
        return {"cov_log_diag": np.log(np.diagonal(L, axis1=-2, axis2=-1)),
                "cov_offdiag": L[..., i0, i1]}
    return {"cov_log": np.log(cov)}


def covariances_from_unconstrained(theta: dict, covariance_type: str, reg_covar: float,
                                   sd: np.ndarray):
    """The inverse of :func:`covariances_to_unconstrained`: ``(covariances, precisions_cholesky)``.

    Raises :class:`SingularCovarianceError` where a covariance is not positive definite.
    """
    if covariance_type in ("full", "tied"):
        diag = theta["cov_log_diag"]
        d = diag.shape[-1]
        L = np.zeros(diag.shape[:-1] + (d, d))
        i0, i1, dg = _indices(d)
        L[..., i0, i1] = theta["cov_offdiag"]
        L[..., dg, dg] = np.exp(diag)
        L *= sd[:, None]
        cov = L @ np.swapaxes(L, -1, -2)
        if covariance_type == "full":
            return cov, precision_cholesky_full(cov, reg_covar)
        return cov, precision_cholesky_full(cov[None], reg_covar, "the tied covariance")[0]
    cov = np.exp(theta["cov_log"])
    if not np.all(np.isfinite(cov)) or np.any(cov <= 0):
        raise SingularCovarianceError(singular_message("a component", reg_covar))
    return cov, 1.0 / np.sqrt(cov)


def covariance_step(ct: str, sxx: np.ndarray, sx: np.ndarray, nk: np.ndarray, mhat: np.ndarray,
                    m: np.ndarray, floor: np.ndarray, reg: float, nkj: np.ndarray):
    """The M-step's covariances and precision Cholesky factors from moments about the centre.

    Maximum-likelihood update of McLachlan & Peel, *Finite Mixture Models*
    (Wiley, 2000), section 3.2, plus ``floor`` on the diagonal.

    Parameters
    ----------
    ct : {"full", "tied", "diag", "spherical"}
    sxx : ndarray
        Weighted second moments about the centre: (K, d, d) full, (d, d) tied,
        (K, d) diag and spherical.
    sx : ndarray of shape (K, d)
        Weighted first moments about the centre.
    nk : ndarray of shape (K,)
    mhat : ndarray of shape (K, d)
        Empirical centred means ``sx / nk``.
    m : ndarray of shape (K, d)
        New centred means (``mhat``, or held means).
    floor : ndarray of shape (d,)
        Added to the diagonal of every covariance.
    reg : float
        ``reg_covar``, for the error message.
    nkj : ndarray of shape (K, d) or (K, 1)
        Diag and spherical: the weight of each component's observed cells of
        each feature (``nk[:, None]`` without missing cells).

    Returns
    -------
    covariances, precisions_cholesky : ndarray
        In the covariance type's storage.

    Raises
    ------
    SingularCovarianceError
    """
    K, d = sx.shape
    if ct == "full":
        cov = (
            sxx / nk[:, None, None]
            - mhat[:, :, None] * m[:, None, :]
            - m[:, :, None] * mhat[:, None, :]
            + m[:, :, None] * m[:, None, :]
        )
        cov = 0.5 * (cov + cov.transpose(0, 2, 1))
        dg = _indices(d)[2]
        cov[:, dg, dg] += floor
        prec_chol = precision_cholesky_full(cov, reg)
    elif ct == "tied":
        cross = (sx.T @ m)  # sum_k sx_k m_k^T
        cov = (sxx - cross - cross.T + (m.T * nk) @ m) / nk.sum()
        cov = 0.5 * (cov + cov.T)
        dg = _indices(d)[2]
        cov[dg, dg] += floor
        prec_chol = precision_cholesky_full(cov[None], reg, label="the tied covariance")[0]
    else:
        var = sxx / nkj - 2.0 * mhat * m + m * m + floor
        if ct == "spherical":  # the features' variances weighted by their observed weight
            var = (var * nkj).sum(axis=1) / np.broadcast_to(nkj, var.shape).sum(axis=1)
        bad = np.flatnonzero(np.atleast_2d(var.T).min(axis=0) <= 0.0)
        if bad.size:
            raise SingularCovarianceError(singular_message(f"component {bad[0]}", reg))
        cov = var
        prec_chol = 1.0 / np.sqrt(var)
    return cov, prec_chol
