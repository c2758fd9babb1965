"""Numerics of the fused Gaussian E+M: chunking, float32, data far from the origin."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import emkit
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import expectation, maximization, run_em
from emkit.families.gaussian import GaussianFamily

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _blobs(seed, n, d, K, offset=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(K, d))
    labels = rng.integers(0, K, size=n)
    X = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=K)[labels, None]
    return (X + offset).astype(dtype)


def _start(X, K, ct, seed=0):
    gm = emkit.GaussianMixture(K, covariance_type=ct, max_iter=0, random_state=seed)
    with pytest.warns(emkit.ConvergenceWarning):
        gm.fit(X.astype(np.float64))
    family = GaussianFamily(ct, 1e-6, X.astype(np.float64).mean(axis=0))
    return family, gm._fitted_params()


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("ct", COV_TYPES)
@pytest.mark.parametrize("d,K", [(1, 2), (3, 4), (7, 2)])
def test_chunked_equals_unchunked(ct, d, K):
    X = _blobs(d + K, 120, d, K)
    w = np.random.default_rng(1).uniform(0, 2, size=120)
    data = Data(X, w)
    family, params = _start(X, K, ct)
    ref_stats, ref_ll = expectation(family, params, data, NumpyBackend(10**9))
    ref_new = maximization(family, ref_stats, params, frozenset())
    for chunk in (1, 7, 64):
        stats, ll = expectation(family, params, data, NumpyBackend(chunk))
        assert ll == pytest.approx(ref_ll, rel=1e-10)
        for key in ref_stats:
            assert _rel(stats[key], ref_stats[key]) < 1e-10, (chunk, key)
        new = maximization(family, stats, params, frozenset())
        for key in ("weights", "means", "covariances"):
            assert _rel(new[key], ref_new[key]) < 1e-10, (chunk, key)
    # and whole fits
    fits = [run_em(family, params, data, NumpyBackend(c), tol=0.0, max_iter=5) for c in (None, 1, 13)]
    for fit in fits[1:]:
        assert fit.lower_bound == pytest.approx(fits[0].lower_bound, rel=1e-10)
        assert _rel(fit.params["covariances"], fits[0].params["covariances"]) < 1e-10


@pytest.mark.parametrize("ct", COV_TYPES)
def test_log_prob_matches_scipy(ct):
    # both evaluations of the full quadratic form (expanded and whitened)
    # and the products of every covariance type give the exact density
    X = _blobs(5, 50, 3, 3)
    family, params = _start(X, 3, ct)
    lp = family.log_prob(X, params, {})
    covs = family.covariance_matrices(params)
    ref = np.column_stack([multivariate_normal(params["means"][k], covs[k]).logpdf(X) for k in range(3)])
    np.testing.assert_allclose(lp, ref, rtol=1e-10, atol=1e-10)
    lp32 = family.log_prob(X.astype(np.float32), params, {})
    np.testing.assert_allclose(lp32, ref, rtol=1e-4, atol=1e-3)


def test_collapsing_component_uses_the_stable_form():
    # precision 1e12: the expanded quadratic form would lose everything
    X = np.r_[np.linspace(-3, 3, 40), np.full(5, 4.0) + 1e-7 * np.arange(5)][:, None]
    family = GaussianFamily("full", 0.0, X.mean(axis=0))
    params = {"weights": np.array([0.9, 0.1]), "means": np.array([[0.0], [4.0 + 2e-7]]),
              "covariances": np.array([[[3.0]], [[2e-14]]]),
              "precisions_cholesky": np.array([[[3.0**-0.5]], [[2e-14**-0.5]]])}
    lp = family.log_prob(X, params, {})
    ref = np.column_stack([multivariate_normal(params["means"][k], params["covariances"][k]).logpdf(X)
                           for k in range(2)])
    np.testing.assert_allclose(lp[-5:, 1], ref[-5:, 1], rtol=1e-6)


@pytest.mark.parametrize("ct", COV_TYPES)
def test_float32_close_to_float64(ct):
    X = _blobs(7, 2000, 4, 3).astype(np.float32).astype(np.float64)  # same values in both
    fits = {}
    for dt in (np.float64, np.float32):
        fits[dt] = emkit.GaussianMixture(3, covariance_type=ct, tol=1e-6, max_iter=500,
                                         random_state=0).fit(X.astype(dt))
    a, b = fits[np.float32], fits[np.float64]
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-5)
    np.testing.assert_allclose(a.means_, b.means_, atol=1e-3)
    np.testing.assert_allclose(a.covariances_, b.covariances_, atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(a.weights_, b.weights_, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ct", COV_TYPES)
def test_data_offset_by_1e6(ct, dtype):
    rng = np.random.default_rng(11)
    X = (1e6 + rng.normal(size=(4000, 2)) + np.r_[np.zeros(2000), np.full(2000, 8.0)][:, None])
    X = X.astype(dtype)
    gm = emkit.GaussianMixture(2, covariance_type=ct, tol=1e-8, max_iter=500, random_state=0).fit(X)
    covs = GaussianFamily(ct).covariance_matrices(gm._fitted_params())
    variances = np.diagonal(covs, axis1=1, axis2=2)
    assert np.all(variances > 0)
    # unit variances (float32 stores 1e6 to 1/16, adding 1/192 of rounding noise)
    np.testing.assert_allclose(variances, 1.0, rtol=0.1)
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]) - 1e6, [0.0, 8.0], atol=0.1)
    assert gm.score(X) == pytest.approx(-np.log(2 * np.pi) - 1.0 - np.log(2.0), abs=0.05)
