"""mclust's iterative M-steps (VEV, EVE, VVE) on a component with zero scatter.

A component whose weight sits on one point (a start that put a single row in
a cluster, common among the short runs and split starts of model selection)
has a zero scatter matrix, and rounding can make its eigenvalues slightly
negative.  VEV's common-shape update divided 0 by 0 there and overflowed
(thousands of RuntimeWarnings in one 14-model selection), and the NaNs then
ran the inner loop to its 1,000-iteration limit.  The M-step must give
finite covariances with no floating-point error; a component whose scatter
is zero up to rounding gets zero covariance (the covariance floor
``reg_covar`` is added later, as for VVV) and the others exactly the fit
they get without it.
"""

from __future__ import annotations

import numpy as np
import pytest

from emkit.families._mclust_models import _objective, structured_covariances


def _scatters(seed=0, K=3, d=3):
    rng = np.random.default_rng(seed)
    W, nk = [], []
    for k in range(K):
        n = 20 + 10 * k
        Z = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
        Z -= Z.mean(axis=0)
        W.append(Z.T @ Z)
        nk.append(float(n))
    return np.array(W), np.array(nk)


def _with_flat(W, nk, level):
    # one more component, on one point: a scatter of rounding noise about zero,
    # symmetric with eigenvalues in [-level, level] (as ``sxx - n m m'`` leaves it)
    d = W.shape[1]
    noise = np.random.default_rng(5).normal(size=(d, d)) * level
    flat = 0.5 * (noise + noise.T)
    return np.concatenate([W[:1], flat[None], W[1:]]), np.concatenate([nk[:1], [1.0], nk[1:]])


def test_vev_with_a_component_on_one_point():
    W, nk = _scatters()
    # rank one at rounding level with a negative eigenvalue: as met on Old Faithful
    Wr, nkr = _with_flat(W, nk, 1e-14)
    Wr[1] = np.outer([1.0, 2.0, 0.5], [1.0, 2.0, 0.5]) * 1e-14 - 1e-15 * np.eye(3)
    assert np.linalg.eigvalsh(Wr[1]).min() < 0
    with np.errstate(all="raise", under="ignore"):
        cov = structured_covariances("VEV", Wr, nkr)
    assert np.all(np.isfinite(cov))
    assert np.all(np.linalg.eigvalsh(cov[[0, 2, 3]]) > 0)
    # exactly flat up to rounding (every eigenvalue <= 0 after rounding): no volume
    # and no part in the shared shape; the others get the fit they get without it
    Wz, nkz = _with_flat(W, nk, 0.0)
    Wz[1] = -1e-16 * np.eye(3)
    with np.errstate(all="raise", under="ignore"):
        ref = structured_covariances("VEV", W, nk)
        cov = structured_covariances("VEV", Wz, nkz)
    np.testing.assert_allclose(cov[[0, 2, 3]], ref, rtol=1e-12, atol=0)
    assert not np.any(cov[1])


def test_vev_with_every_component_flat_in_one_direction():
    # rank-deficient scatter in every component (say two rows each in two dimensions):
    # no direction may overflow; the flat direction gets a volume at rounding level
    rng = np.random.default_rng(1)
    u = rng.normal(size=(3, 2))
    W = np.einsum("ka,kb->kab", u, u)  # rank one each, different directions
    nk = np.array([2.0, 2.0, 2.0])
    with np.errstate(all="raise", under="ignore"):
        cov = structured_covariances("VEV", W, nk)
    assert np.all(np.isfinite(cov))
    lam = np.linalg.eigvalsh(cov)
    assert np.all(lam[:, 1] > 0)


@pytest.mark.parametrize("model", ["EVE", "VVE"])
def test_common_orientation_with_a_flat_component_stays_finite(model):
    W, nk = _scatters(2)
    Wf, nkf = _with_flat(W, nk, 1e-15)
    with np.errstate(all="raise", under="ignore"):
        cov = structured_covariances(model, Wf, nkf)
    assert np.all(np.isfinite(cov))
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    # the floor is a no-op on well-conditioned scatter: the common orientation fit
    # still makes the M-step objective stationary (no lower value nearby)
    with np.errstate(all="raise", under="ignore"):
        ref = structured_covariances(model, W, nk)
        again = structured_covariances(model, W, nk, previous=ref)
    assert _objective(W, nk, again) == pytest.approx(_objective(W, nk, ref), rel=1e-12)
