"""Simulated data for model-selection tests and benchmarks: five anisotropic clusters in 4-D.

Five Gaussian components with full covariance matrices of random orientation
and condition number 80, weights 0.3 / 0.25 / 0.2 / 0.15 / 0.1, centres
drawn on a sphere of radius 6.  Shared by tests/test_select_neighbours.py and
benchmarks/bench_select.py so both use exactly the same data.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
N_FEATURES = 4


def anisotropic_mixture(seed: int = 0):
    """The true parameters: weights (5,), means (5, 4), covariances (5, 4, 4)."""
    rng = np.random.default_rng(seed)
    K, d = WEIGHTS.shape[0], N_FEATURES
    centres = rng.standard_normal((K, d))
    centres *= 6.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    scales = np.array([4.0, 1.0, 0.25, 0.05])
    covs = np.empty((K, d, d))
    for k in range(K):
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        covs[k] = (Q * scales) @ Q.T
    return WEIGHTS.copy(), centres, covs


def anisotropic_data(n: int = 50_000, seed: int = 0):
    """``n`` rows from :func:`anisotropic_mixture` and their component labels."""
    weights, means, covs = anisotropic_mixture(seed)
    rng = np.random.default_rng(seed + 1)
    labels = np.sort(rng.choice(weights.shape[0], size=n, p=weights))
    X = np.empty((n, means.shape[1]))
    for k in range(weights.shape[0]):
        idx = labels == k
        X[idx] = rng.multivariate_normal(means[k], covs[k], size=int(idx.sum()))
    return X, labels
