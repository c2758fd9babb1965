"""The data's own scale, for a covariance floor and a degeneracy test that do not depend on units.

``reg_covar`` is relative by default: the floor added to diagonal entry ``j``
of every covariance is ``reg_covar * var_j``, with ``var_j`` the (weighted)
variance of feature ``j`` over all rows.  Fitting ``X * c + b`` then gives
exactly the transformed fit of ``X`` (means ``c mu + b``, covariances
``c**2 Sigma``, the same responsibilities and a mean log-likelihood lower by
``d log|c|``) for every ``c``; the same holds per feature for a diagonal
``c``.  An absolute floor (scikit-learn's meaning, ``reg_covar_relative=False``)
is ``1e-6`` of a variance at unit scale but all of it at a scale of ``1e-3``,
which merged separated blobs and flagged every component degenerate.

Models whose covariance has an isotropic part (mclust's spherical or
orientation models) use one scale for every feature, the mean of the
``var_j``, so the floor keeps their structure.

The variances are computed in one pass with the pairwise update of Chan,
Golub & LeVeque (1983, The American Statistician 37:242-247): every chunk
contributes its weight, mean and centred sum of squares, which merge without
the cancellation of ``E[x^2] - E[x]^2`` (data far from the origin keeps its
variance).
"""

from __future__ import annotations

import numpy as np


class WeightedMoments:
    """Weight, mean and centred sum of squares per feature; ``+`` merges two sets of rows.

    Parameters
    ----------
    weight : float
        Sum of the row weights.
    mean : ndarray of shape (n_features,)
    m2 : ndarray of shape (n_features,)
        ``sum_i w_i (x_ij - mean_j)**2``.
    """

    __slots__ = ("weight", "mean", "m2")

    def __init__(self, weight: float, mean: np.ndarray, m2: np.ndarray):
        self.weight, self.mean, self.m2 = float(weight), mean, m2

    @classmethod
    def of(cls, X: np.ndarray, w: np.ndarray) -> WeightedMoments:
        """Moments of the rows ``X`` (float64, shape (n, d)) with weights ``w`` (n,)."""
        W = float(w.sum())
        d = X.shape[1]
        if W <= 0.0:
            return cls(0.0, np.zeros(d), np.zeros(d))
        mean = (w @ X) / W
        R = X - mean
        return cls(W, mean, w @ (R * R))

    def __add__(self, other: WeightedMoments) -> WeightedMoments:
        if other.weight <= 0.0:
            return self
        if self.weight <= 0.0:
            return other
        W = self.weight + other.weight
        delta = other.mean - self.mean
        f = other.weight / W
        return WeightedMoments(W, self.mean + delta * f,
                               self.m2 + other.m2 + delta * delta * (self.weight * f))

    def variance(self) -> np.ndarray:
        """Weighted variance of every feature, shape (n_features,)."""
        if self.weight <= 0.0:
            return np.zeros_like(self.m2)
        return self.m2 / self.weight


def feature_scale(variance: np.ndarray) -> np.ndarray:
    """Positive scale of every feature for a relative floor, shape (n_features,).

    The variance of a feature, or for a constant feature the mean variance
    of the others (1 when every feature is constant: such data has no scale).
    """
    v = np.asarray(variance, dtype=np.float64)
    positive = v > 0.0
    if positive.all():
        return v
    fill = float(v[positive].mean()) if positive.any() else 1.0
    return np.where(positive, v, fill)


def whitened_min_eigenvalues(covs: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, float]:
    """Smallest eigenvalue of every ``D^-1/2 Sigma_k D^-1/2`` with ``D = diag(scale)``, and the largest diagonal.

    Parameters
    ----------
    covs : ndarray of shape (n_components, n_features, n_features)
    scale : ndarray of shape (n_features,)

    Returns
    -------
    eig_min : ndarray of shape (n_components,)
    top : float
        Largest diagonal entry of the whitened matrices.
    """
    r = 1.0 / np.sqrt(scale)
    white = covs * (r[:, None] * r[None, :])
    top = max(float(np.max(np.diagonal(white, axis1=1, axis2=2))), 0.0)
    return np.linalg.eigvalsh(white).min(axis=1), top
