"""From the same initial parameters emkit reaches scikit-learn's optimum."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emkit

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _blobs(seed, n, d, K, offset=0.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(K, d))
    labels = rng.integers(0, K, size=n)
    return centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=K)[labels, None] + offset


def _sk_start(X, K, ct, seed):
    """Initial parameters from scikit-learn's own one-step fit."""
    sk = SkGaussianMixture(K, covariance_type=ct, max_iter=1, random_state=seed)
    with pytest.warns(ConvergenceWarning):  # one iteration never converges
        sk.fit(X)
    return dict(weights_init=sk.weights_, means_init=sk.means_, precisions_init=sk.precisions_)


@pytest.mark.parametrize("ct", COV_TYPES)
@pytest.mark.parametrize(
    "seed,n,d,K,offset",
    [(0, 500, 3, 3, 0.0), (1, 300, 1, 2, 0.0), (2, 400, 2, 1, 0.0), (3, 600, 4, 4, 1e4), (4, 250, 6, 2, -300.0)],
)
def test_same_optimum_as_sklearn(ct, seed, n, d, K, offset):
    X = _blobs(seed, n, d, K, offset)
    start = _sk_start(X, K, ct, seed)
    sk = SkGaussianMixture(K, covariance_type=ct, tol=1e-12, max_iter=20000, **start).fit(X)
    em = emkit.GaussianMixture(K, covariance_type=ct, tol=1e-12, max_iter=20000, acceleration=None,
                               **start).fit(X)
    assert em.converged_
    ll_sk, ll_em = sk.score(X), em.score(X)
    assert abs(ll_em - ll_sk) <= 1e-8 * abs(ll_sk)
    np.testing.assert_allclose(em.weights_, sk.weights_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(em.means_, sk.means_, rtol=1e-4, atol=1e-4 * max(1.0, abs(offset)))
