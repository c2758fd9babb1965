"""Gaussian blocks with missing cells: conditional mean and covariance (Ghahramani & Jordan 1994)."""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

import emkit
from emkit import MixedMixture
from emkit.families._linalg import SingularCovarianceError
from emkit.families.gaussian import GaussianFamily

SETTINGS = settings(max_examples=int(os.environ.get("EMKIT_HYPOTHESIS_EXAMPLES", "15")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TYPES = ("full", "tied", "diag", "spherical")
MEANS = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, -2.0, 1.0, 4.0], [-3.0, 2.0, 4.0, -1.0]])


def _covs(d=4):
    A = np.array([[1.0, 0.6, 0.0, 0.2], [0.0, 1.0, -0.5, 0.0], [0.0, 0.0, 1.0, 0.7], [0.3, 0.0, 0.0, 1.0]])
    base = A @ A.T
    return np.stack([base, np.diag([0.5, 1.5, 1.0, 0.8]) + 0.3, base[::-1, ::-1] * 0.7])[:, :d, :d]


def _data(n, seed, frac, d=4):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.4, 0.35, 0.25])
    covs = _covs(d)
    full = np.empty((n, d))
    for k in range(3):
        idx = z == k
        full[idx] = rng.multivariate_normal(MEANS[k, :d], covs[k], idx.sum())
    X = np.where(rng.random(full.shape) < frac, np.nan, full)
    return X, full, z


def _model(ct, **kw):
    opts = {"covariance_type": ct, **kw.pop("opts", {})}
    return MixedMixture(3, blocks=[("gaussian", [0, 1, 2, 3], opts)], missing="marginalize", **kw)


def _cov_matrices(m, ct):
    cov = m.b0_covariances_
    K, d = m.b0_means_.shape
    if ct == "full":
        return cov
    if ct == "tied":
        return np.broadcast_to(cov, (K, d, d))
    if ct == "diag":
        return cov[:, :, None] * np.eye(d)
    return cov[:, None, None] * np.eye(d)


@pytest.mark.parametrize("ct", TYPES)
def test_score_samples_equals_scipy_marginal_of_the_observed_cells(ct):
    X, _, _ = _data(600, 0, 0.25)
    m = _model(ct, random_state=0).fit(X)
    covs = _cov_matrices(m, ct)
    rows = X[:80]
    expected = []
    for x in rows:
        o = ~np.isnan(x)
        terms = np.log(m.weights_).copy()
        if o.any():
            terms += [stats.multivariate_normal(m.b0_means_[k, o], covs[k][np.ix_(o, o)]).logpdf(x[o])
                      for k in range(3)]
        expected.append(logsumexp(terms))
    assert 0 < np.isnan(rows).any(axis=1).sum() < 80
    np.testing.assert_allclose(m.score_samples(rows), expected, rtol=1e-10, atol=1e-10)


def test_one_iteration_equals_a_per_row_reference():
    """E-step with conditional means, M-step adding conditional covariances (full, reg_covar=0)."""
    X, _, _ = _data(300, 1, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        m = _model("full", opts={"reg_covar": 0.0}, random_state=0, max_iter=3).fit(X)
    w, mu, S = m.weights_.copy(), m.b0_means_.copy(), m.b0_covariances_.copy()
    K, d = mu.shape
    n = X.shape[0]
    logp = np.zeros((n, K))
    xhat = np.zeros((n, K, d))
    C = np.zeros((n, K, d, d))
    for i, x in enumerate(X):
        o, mm = ~np.isnan(x), np.isnan(x)
        for k in range(K):
            if o.any():
                logp[i, k] = stats.multivariate_normal(mu[k, o], S[k][np.ix_(o, o)]).logpdf(x[o])
            B = S[k][np.ix_(mm, o)] @ np.linalg.inv(S[k][np.ix_(o, o)])
            xhat[i, k] = x
            xhat[i, k, mm] = mu[k, mm] + B @ (x[o] - mu[k, o])
            C[i, k][np.ix_(mm, mm)] = S[k][np.ix_(mm, mm)] - B @ S[k][np.ix_(o, mm)]
    lp = logp + np.log(w)
    r = np.exp(lp - logsumexp(lp, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    # a row with no observed cell carries no information on the block: it is left out
    rb = r * (~np.isnan(X)).any(axis=1)[:, None]
    assert (rb.sum(axis=1) == 0).any()
    nb = rb.sum(axis=0)
    new_mu = np.einsum("ik,ikd->kd", rb, xhat) / nb[:, None]
    new_S = np.empty_like(S)
    for k in range(K):
        D = xhat[:, k] - new_mu[k]
        new_S[k] = ((rb[:, k, None] * D).T @ D + np.einsum("i,iab->ab", rb[:, k], C[:, k])) / nb[k]
    m.set_params(warm_start=True, max_iter=1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        m.fit(X)
    np.testing.assert_allclose(m.weights_, nk / n, rtol=1e-10)
    np.testing.assert_allclose(m.b0_means_, new_mu, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(m.b0_covariances_, new_S, rtol=1e-9, atol=1e-11)


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(40, 150), ct=st.sampled_from(TYPES),
       frac=st.floats(0.0, 0.4), d=st.integers(2, 4))
def test_em_with_reg_covar_zero_never_decreases_the_observed_loglik(seed, n, ct, frac, d):
    X, _, _ = _data(n, seed, frac, d)
    assume(not np.isnan(X).all(axis=0).any() and (~np.isnan(X).any(axis=1)).sum() >= 3)
    model = MixedMixture(2, blocks=[("gaussian", list(range(d)), {"covariance_type": ct, "reg_covar": 0.0})],
                         missing="marginalize", random_state=seed % 1000, tol=0.0, max_iter=25)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except SingularCovarianceError:
        assume(False)
    assume(not model.degenerate_components_)
    h = model.history_
    assert np.all(np.diff(h) >= -1e-9 * np.maximum(1.0, np.abs(h[1:])))


@pytest.mark.parametrize("ct", ("full", "tied"))
def test_chunked_equals_unchunked(ct):
    X, _, _ = _data(800, 2, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = _model(ct, random_state=0, tol=0.0, max_iter=20, acceleration=None).fit(X)
        b = _model(ct, random_state=0, tol=0.0, max_iter=20, acceleration=None,
                   chunk_size=53).fit(X)
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-11)
    np.testing.assert_allclose(a.b0_covariances_, b.b0_covariances_, rtol=1e-9, atol=1e-12)


def test_recovery_with_30_percent_mcar_beats_complete_case():
    X, _, _ = _data(20_000, 3, 0.3)
    truth = _covs()
    m = _model("full", random_state=0, tol=1e-6, max_iter=500).fit(X)
    complete = X[~np.isnan(X).any(axis=1)]
    cc = _model("full", random_state=0, tol=1e-6, max_iter=500).fit(complete)

    def errors(model):
        mu, S = model.b0_means_, model.b0_covariances_
        order = [int(np.argmin(((mu - t) ** 2).sum(axis=1))) for t in MEANS]
        assert sorted(order) == [0, 1, 2]
        return np.abs(mu[order] - MEANS).max(), np.abs(S[order] - truth).max()

    mu_err, cov_err = errors(m)
    cc_mu_err, cc_cov_err = errors(cc)
    print(f"full covariance, 30% MCAR: marginalized mean error {mu_err:.4f}, covariance error "
          f"{cov_err:.4f}; complete case ({complete.shape[0]} rows) mean error {cc_mu_err:.4f}, "
          f"covariance error {cc_cov_err:.4f}")
    assert mu_err < cc_mu_err and cov_err < cc_cov_err


@pytest.mark.parametrize("ct", ("full", "tied"))
def test_pattern_sorted_conditioning_equals_a_per_row_reference(ct):
    """conditional_log_prob / conditional_stats (rows sorted by pattern, each pattern
    conditioned once) against conditioning every row on its own, in the rows' own order."""
    from emkit.families._gaussian_missing import conditional_log_prob, conditional_stats

    rng = np.random.default_rng(7)
    d, K, n = 5, 3, 240
    X = rng.normal(size=(n, d)) * 2.0 + 1.0
    X[rng.random((n, d)) < 0.35] = np.nan
    X[[3, 100]] = np.nan                                    # rows with nothing observed
    fam = GaussianFamily(covariance_type=ct, centre=np.nanmean(X, axis=0))
    means = rng.normal(size=(K, d))
    B = rng.normal(size=(K, d, d))
    covs = B @ np.swapaxes(B, 1, 2) + np.eye(d)
    params = {"means": means, "covariances": covs if ct == "full" else covs[0]}
    S = fam.covariance_matrices(params)
    R = rng.dirichlet(np.ones(K), n) * rng.uniform(0.5, 2.0, (n, 1))
    lp, cache = conditional_log_prob(fam, X, params)
    got = conditional_stats(fam, R, cache)

    ref_lp = np.zeros((n, K))
    sx = np.zeros((K, d))
    sxx = np.zeros((K, d, d))
    centre = fam._centre(d)
    for i, x in enumerate(X):
        o, mm = ~np.isnan(x), np.isnan(x)
        for k in range(K):
            if o.any():
                ref_lp[i, k] = stats.multivariate_normal(means[k, o], S[k][np.ix_(o, o)]).logpdf(x[o])
            G = S[k][np.ix_(mm, o)] @ np.linalg.inv(S[k][np.ix_(o, o)]) if o.any() else np.zeros((mm.sum(), 0))
            y = x.copy()
            y[mm] = means[k, mm] + G @ (x[o] - means[k, o])
            C = np.zeros((d, d))
            C[np.ix_(mm, mm)] = S[k][np.ix_(mm, mm)] - G @ S[k][np.ix_(o, mm)]
            sx[k] += R[i, k] * (y - centre)
            sxx[k] += R[i, k] * (np.outer(y - centre, y - centre) + C)
    assert len(np.unique(np.isnan(X), axis=0)) > 20
    np.testing.assert_allclose(lp, ref_lp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["sx"], sx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(got["sxx"], sxx.sum(axis=0) if ct == "tied" else sxx, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("d", [1, 4, 15, 16, 63, 70])
def test_pattern_groups_are_contiguous_slices_of_one_pattern(d):
    from emkit.families._gaussian_missing import pattern_groups

    M = np.random.default_rng(d).random((2000, d)) < 0.3
    order, starts, patterns = pattern_groups(M)
    np.testing.assert_array_equal(np.sort(order), np.arange(2000))
    bounds = np.r_[starts, 2000]
    for p in range(len(starts)):
        rows = order[bounds[p]:bounds[p + 1]]
        assert rows.size and np.all(np.diff(rows) > 0)       # stable within a pattern
        np.testing.assert_array_equal(M[rows], np.broadcast_to(patterns[p], (rows.size, d)))
    assert len(np.unique(patterns, axis=0)) == len(patterns) == len(np.unique(M, axis=0))
