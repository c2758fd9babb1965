"""Batched Cholesky factors, inverses and log-determinants over components."""

from __future__ import annotations

import numpy as np


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
    d = cov.shape[-1]
    eye = np.broadcast_to(np.eye(d), cov.shape)
    Linv = np.linalg.solve(L, eye)
    return np.swapaxes(Linv, -1, -2)


def _first_not_pd(cov: np.ndarray) -> int:
    # error path only: find which matrix of the stack failed
    for k in range(cov.shape[0]):
        try:
            np.linalg.cholesky(cov[k])
        except np.linalg.LinAlgError:
            return k
    return 0
