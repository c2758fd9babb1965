"""Gaussian covariance structures: shapes, checks of user values, conversions.

The four covariance types store covariances (and precision Cholesky factors)
with scikit-learn's shapes: (K, d, d) full, (d, d) tied, (K, d) diag and
(K,) spherical.
"""

from __future__ import annotations

import numpy as np

from ._linalg import precision_cholesky_full

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


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
