"""The E-step's weighted log densities and summed responsibilities, against plain references.

The Gaussian family folds the log mixing weights into each component's
constant (the product's row of ones) and returns ``nk`` from the M-step
product's row of ones; these check both against scipy.stats and a plain sum.
"""

import numpy as np
import pytest
from scipy import stats

from emkit.backends.numpy_backend import Data
from emkit.engine.em import e_step_chunk
from emkit.families._base import Family
from emkit.families.gaussian import GaussianFamily

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _setup(ct, d, K, seed=0, n=700):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 2.0 + 30.0
    means = X[rng.choice(n, K, replace=False)]
    A = rng.normal(size=(K, d, d)) / np.sqrt(d) + 1.5 * np.eye(d)
    full = A @ np.swapaxes(A, 1, 2)
    covs = {"full": full, "tied": full[0], "diag": np.einsum("kii->ki", full),
            "spherical": np.einsum("kii->k", full) / d}[ct]
    dense = {"full": full, "tied": np.broadcast_to(full[0], (K, d, d)),
             "diag": np.stack([np.diag(v) for v in np.einsum("kii->ki", full)]),
             "spherical": np.stack([v * np.eye(d) for v in np.einsum("kii->k", full) / d])}[ct]
    fam = GaussianFamily(ct, 1e-6, X.mean(axis=0))
    prec = np.linalg.inv(covs) if ct in ("full", "tied") else 1.0 / covs
    params = fam.check_init({"means_init": means, "precisions_init": prec}, K, d)
    return X, fam, params, means, dense


# (d, K) = (3, 4): the quadratic feature map; (9, 2): full covariance's stacked whitening
@pytest.mark.parametrize("ct", COV_TYPES)
@pytest.mark.parametrize("d,K", [(3, 4), (9, 2)])
@pytest.mark.parametrize("weights", [[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.25, 0.25]])
def test_weighted_log_densities_and_nk_equal_scipy(ct, d, K, weights):
    X, fam, params, means, dense = _setup(ct, d, K)
    w = np.asarray(weights[:K]) / np.sum(weights[:K])
    params["weights"] = w
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    ref = np.column_stack([log_w[k] + stats.multivariate_normal(means[k], dense[k]).logpdf(X)
                           for k in range(K)])
    got, _ = fam.weighted_log_prob_cached(X, params, {}, log_w)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isfinite(got), finite)  # a weight of 0: -inf, never NaN
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-12, atol=0)
    # the generic hook (log densities, then the weights added) gives the same
    plain, _ = Family.weighted_log_prob_cached(fam, X, params, {}, log_w)
    np.testing.assert_allclose(got[finite], plain[finite], rtol=1e-13, atol=0)

    sw = np.random.default_rng(1).uniform(0.0, 2.0, size=X.shape[0])
    st, loglik = e_step_chunk(fam, params, Data(X, sw))
    norm = np.logaddexp.reduce(ref, axis=1)
    resp = np.exp(ref - norm[:, None]) * sw[:, None]
    np.testing.assert_allclose(st["nk"], resp.sum(axis=0), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(loglik, sw @ norm, rtol=1e-12)
