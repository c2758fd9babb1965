"""With one component the iterative mclust models have the closed-form M-step of VVV / VVI."""

from __future__ import annotations

import numpy as np
import pytest

from emkit.families._mclust_models import _common_orientation, _vee, _vei, _vev, structured_covariances


def _scatter(seed=0, d=3, n=40):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    Z -= Z.mean(axis=0)
    return (Z.T @ Z)[None], np.array([float(n)])


@pytest.mark.parametrize("model", ["VEE", "VEV", "EVE", "VVE"])
def test_free_orientation_models_are_vvv(model):
    W, nk = _scatter()
    cov = structured_covariances(model, W, nk)
    np.testing.assert_allclose(cov, W / nk[0], rtol=1e-13, atol=0)
    # the inner iterations converge to the same point, from a cold start
    iterate = {"VEE": lambda: _vee(W, nk, None), "VEV": lambda: _vev(W, nk, None),
               "EVE": lambda: _common_orientation("EVE", W, nk, None),
               "VVE": lambda: _common_orientation("VVE", W, nk, None)}[model]
    np.testing.assert_allclose(iterate(), cov, rtol=1e-8, atol=1e-8 * np.abs(cov).max())


def test_vei_is_vvi():
    W, nk = _scatter(1)
    cov = structured_covariances("VEI", W, nk)
    np.testing.assert_allclose(cov, np.diag(np.diag(W[0]) / nk[0])[None], rtol=1e-13, atol=0)
    np.testing.assert_allclose(_vei(W, nk, np.einsum("kii->ki", W), None), cov, rtol=1e-10)


@pytest.mark.parametrize("model", ["VEI", "VEE", "VEV", "EVE", "VVE"])
def test_flat_scatter_gets_a_regular_covariance(model):
    # two points in three dimensions: the scatter has rank one
    u = np.array([1.0, 2.0, -0.5])
    W, nk = np.outer(u, u)[None], np.array([2.0])
    with np.errstate(all="raise", under="ignore"):
        cov = structured_covariances(model, W, nk)
    assert np.all(np.isfinite(cov))
    assert np.all(np.linalg.eigvalsh(cov) > 0)
