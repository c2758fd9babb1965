"""Full covariance with some components expanded and some whitened in one chunk.

The expanded quadratic form ``x'Lx - 2 x'Lm + m'Lm`` is taken per component
where its cancellation bound allows (:func:`emkit.families._linalg.safe_components`);
a thin component far from the centre is whitened, the others are not.  The
references are written plainly here: ``scipy.stats`` log densities and the
textbook weighted moments about each component's mean.
"""

import numpy as np
import pytest
from _plain_em import plain_em_trace
from scipy import stats
from scipy.special import logsumexp

from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import run_em
from emkit.families import _gaussian_products as products
from emkit.families._linalg import feature_rows, safe_components
from emkit.families.gaussian import GaussianFamily

REG = 1e-6


def _data(n=4000, d=3):
    """Three broad clusters near the origin and a thin one (sd 1e-3) at 40."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 4, size=n)
    centres = np.array([[0.0] * d, [3.0] * d, [-3.0, 2.0, 0.5][:d], [40.0] * d])
    sd = np.array([1.0, 0.8, 1.2, 1e-3])
    X = centres[labels] + rng.normal(size=(n, d)) * sd[labels, None]
    w = rng.uniform(0.2, 2.0, size=n)
    start = (np.full(4, 0.25), centres + 0.1 * sd[:, None],
             np.stack([np.eye(d) * (1.5 * s) ** 2 for s in sd]))
    return X, w, start


def _family_params(X, w, start, K=4):
    weights, means, covs = start
    fam = GaussianFamily("full", REG, np.average(X, axis=0, weights=w))
    params = fam.check_init({"means_init": means, "precisions_init": np.linalg.inv(covs)},
                            K, X.shape[1])
    params["weights"] = weights
    return fam, params


def test_thin_far_component_is_whitened_and_the_others_expanded():
    X, w, start = _data()
    fam, params = _family_params(X, w, start)
    c = fam._centre(X.shape[1])
    F, lin = feature_rows(X, c, "full", 4)
    safe = safe_components(F[lin:lin + 3], params["precisions_cholesky"], params["means"] - c)
    assert safe.tolist() == [True, True, True, False]
    log_w = np.log(params["weights"])
    lp, cache = fam.weighted_log_prob_cached(X, params, {}, log_w)
    assert isinstance(cache, products._Split)
    covs = fam.covariance_matrices(params)
    ref = np.column_stack([log_w[k] + stats.multivariate_normal(params["means"][k], covs[k]).logpdf(X)
                           for k in range(4)])
    # the thin component's densities reach ~ +20 at its centre and ~ -1e9 elsewhere;
    # the expanded form would be off by ~1e-6 there
    np.testing.assert_allclose(lp, ref, rtol=1e-11, atol=1e-9)
    # moments about the centre from both routes equal the textbook ones
    resp = np.exp(ref - logsumexp(ref, axis=1)[:, None]) * w[:, None]
    got = fam.suff_stats(X, resp, {}, cache)
    Xc = X - c
    np.testing.assert_allclose(got["nk"], resp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got["sx"], resp.T @ Xc, rtol=1e-11, atol=1e-9)
    sxx = np.einsum("nk,na,nb->kab", resp, Xc, Xc)
    np.testing.assert_allclose(got["sxx"], sxx, rtol=1e-11, atol=1e-8)


def _central_thin_data(n=4000, d=3):
    """Broad clusters at -20 and +20 and a thin one (sd 1e-2) at the centre: the
    far rows make the thin component's expansion unsafe, while its moments about
    the centre (the M-step's) lose nothing to cancellation, so plain EM is
    matched to 1e-12."""
    rng = np.random.default_rng(8)
    labels = np.arange(n) % 3
    centres = np.array([[-20.0] * d, [20.0] * d, [0.0] * d])
    sd = np.array([1.0, 3.0, 1e-2])
    X = centres[labels] + rng.normal(size=(n, d)) * sd[labels, None]
    X[labels == 2] += np.average(X, axis=0) - X[labels == 2].mean(axis=0)  # thin one at the centre
    w = np.ones(n)
    start = (np.full(3, 1 / 3), centres + 0.1 * sd[:, None],
             np.stack([np.eye(d) * (1.5 * s) ** 2 for s in sd]))
    return X, w, start


@pytest.mark.parametrize("chunk_size,n_jobs", [(None, 1), (257, 1), (257, 2)])
def test_split_route_em_equals_a_plain_reference_em(chunk_size, n_jobs):
    X, w, start = _central_thin_data()
    fam, params = _family_params(X, w, start, 3)
    c = fam._centre(X.shape[1])
    F, lin = feature_rows(X, c, "full", 3)
    safe = safe_components(F[lin:lin + 3], params["precisions_cholesky"], params["means"] - c)
    assert safe.tolist() == [True, True, False]
    res = run_em(fam, params, Data(X, w), NumpyBackend(chunk_size, n_jobs), tol=0.0,
                 max_iter=6, warn_decrease=False)
    got = np.concatenate([[res.initial_log_likelihood], res.history])
    ref = plain_em_trace(X, w, start, "full", 6, REG)
    assert ref[-1] > ref[0] + 1e-3  # the run moves
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
