"""missing="marginalize" on every estimator: NaN cells integrated out exactly.

References written plainly here, row by row: scipy.stats marginal densities of each
row's observed cells, and one EM step (conditional expectations for full and tied
Gaussians, Ghahramani & Jordan 1994; the missing cell's factor dropped for diagonal and
spherical Gaussians and product families).
"""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import emkit

COV_TYPES = ("full", "tied", "diag", "spherical")


def _gauss_data(n=400, d=3, missing=0.2, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.3, 0.4])
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [6.0, -1.0, 2.0]])[:, :d]
    X = rng.normal(centres[z], 1.0)
    X[:, 1] += 0.6 * X[:, 0]
    X[rng.random(X.shape) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0  # keep one cell of every row
    return X


def _full_covs(ct, cov, K, d):
    if ct == "full":
        return np.asarray(cov)
    if ct == "tied":
        return np.repeat(np.asarray(cov)[None], K, axis=0)
    if ct == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(d) * c for c in cov])


def _fit(model, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return model.fit(X, **kw)


def _one_more_step(m, X, **kw):
    m.set_params(warm_start=True, max_iter=1, tol=0.0, acceleration=None)
    return _fit(m, X, **kw)


# ------------------------------------------------------------------ Gaussian
def _gauss_reference_logdens(X, w, means, covs):
    """Per missingness pattern, scipy.stats' density of the observed cells."""
    out = np.empty(X.shape[0])
    patterns = np.isnan(X)
    for pattern in np.unique(patterns, axis=0):
        rows = np.flatnonzero((patterns == pattern).all(axis=1))
        o = ~pattern
        terms = [np.log(w[k]) + stats.multivariate_normal(means[k, o], covs[k][np.ix_(o, o)]
                                                          ).logpdf(X[np.ix_(rows, o)])
                 for k in range(len(w))]
        out[rows] = logsumexp(np.array(terms).reshape(len(w), rows.size), axis=0)
    return out


def _gauss_reference_step(X, ct, w, means, covs):
    """One EM step: full and tied with the conditional mean and covariance of the missing
    cells; diag and spherical with the missing cells' factors dropped, each feature's
    sums over the rows that observe it."""
    if ct in ("diag", "spherical"):
        return _gauss_reference_dropped_step(X, ct, w, means, covs)
    n, d = X.shape
    K = len(w)
    R = np.empty((n, K))
    xhat = np.empty((K, n, d))
    cond = np.zeros((K, n, d, d))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        m = ~o
        for k in range(K):
            S = covs[k]
            R[i, k] = np.log(w[k]) + stats.multivariate_normal(means[k, o], S[np.ix_(o, o)]).logpdf(x[o])
            xhat[k, i] = x
            if m.any():
                A = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
                xhat[k, i, m] = means[k, m] + A @ (x[o] - means[k, o])
                cond[k, i][np.ix_(m, m)] = S[np.ix_(m, m)] - A @ S[np.ix_(o, m)]
    R = np.exp(R - logsumexp(R, axis=1, keepdims=True))
    nk = R.sum(axis=0)
    new_means = np.stack([R[:, k] @ xhat[k] for k in range(K)]) / nk[:, None]
    scatter = np.stack([
        sum(R[i, k] * (np.outer(xhat[k, i] - new_means[k], xhat[k, i] - new_means[k]) + cond[k, i])
            for i in range(n))
        for k in range(K)])
    if ct == "full":
        new_covs = scatter / nk[:, None, None]
    elif ct == "tied":
        new_covs = scatter.sum(axis=0) / n
    elif ct == "diag":
        new_covs = np.stack([np.diag(s) for s in scatter]) / nk[:, None]
    else:
        new_covs = np.stack([np.trace(s) / d for s in scatter]) / nk
    return nk / n, new_means, new_covs


def _gauss_reference_dropped_step(X, ct, w, means, covs):
    """Diag/spherical: the latent labels are the only missing data; a missing cell has no
    factor, so the M-step of feature j of component k weighs the rows that observe j."""
    n, d = X.shape
    K = len(w)
    R = np.empty((n, K))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        for k in range(K):
            R[i, k] = np.log(w[k]) + sum(stats.norm(means[k, j], np.sqrt(covs[k][j, j])).logpdf(x[j])
                                         for j in np.flatnonzero(o))
    R = np.exp(R - logsumexp(R, axis=1, keepdims=True))
    new_means = np.zeros((K, d))
    ss = np.zeros((K, d))
    nkj = np.zeros((K, d))
    for k in range(K):
        for j in range(d):
            rows = ~np.isnan(X[:, j])
            nkj[k, j] = R[rows, k].sum()
            new_means[k, j] = R[rows, k] @ X[rows, j] / nkj[k, j]
            ss[k, j] = R[rows, k] @ (X[rows, j] - new_means[k, j]) ** 2
    new_covs = ss / nkj if ct == "diag" else ss.sum(axis=1) / nkj.sum(axis=1)
    return R.sum(axis=0) / n, new_means, new_covs


@pytest.mark.parametrize("ct", COV_TYPES)
def test_gaussian_score_samples_is_the_marginal_of_the_observed_cells(ct):
    X = _gauss_data()
    m = _fit(emkit.GaussianMixture(3, covariance_type=ct, missing="marginalize", random_state=0), X)
    covs = _full_covs(ct, m.covariances_, 3, X.shape[1])
    ref = _gauss_reference_logdens(X, m.weights_, m.means_, covs)
    np.testing.assert_allclose(m.score_samples(X), ref, rtol=1e-10, atol=1e-10)
    assert np.array_equal(m.predict(X), m.predict_proba(X).argmax(axis=1))


@pytest.mark.parametrize("ct", COV_TYPES)
def test_gaussian_em_step_is_the_exact_step(ct):
    X = _gauss_data(150)
    m = _fit(emkit.GaussianMixture(3, covariance_type=ct, reg_covar=0.0, missing="marginalize",
                                   random_state=0, max_iter=3), X)
    w0, mu0, cov0 = m.weights_.copy(), m.means_.copy(), np.array(m.covariances_)
    w, mu, cov = _gauss_reference_step(X, ct, w0, mu0, _full_covs(ct, cov0, 3, X.shape[1]))
    _one_more_step(m, X)
    np.testing.assert_allclose(m.weights_, w, rtol=1e-10)
    np.testing.assert_allclose(m.means_, mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.covariances_, cov, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ct", COV_TYPES)
def test_gaussian_without_missing_cells_is_the_complete_data_fit(ct):
    X = _gauss_data(missing=0.0)
    a = _fit(emkit.GaussianMixture(3, covariance_type=ct, random_state=0), X)
    b = emkit.GaussianMixture(3, covariance_type=ct, missing="marginalize", random_state=0,
                              max_iter=1)
    _fit(b, X)
    b._store_params({"weights": a.weights_, "means": a.means_, "covariances": a.covariances_,
                     "precisions_cholesky": a.precisions_cholesky_})
    b.set_params(warm_start=True, max_iter=5, tol=0.0, acceleration=None)
    a.set_params(warm_start=True, max_iter=5, tol=0.0, acceleration=None)
    _fit(a, X), _fit(b, X)
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-12)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-11)
    # and a default fit reaches the same optimum
    c = emkit.GaussianMixture(3, covariance_type=ct, missing="marginalize", random_state=0).fit(X)
    assert c.score(X) == pytest.approx(a.score(X), rel=1e-9)


@pytest.mark.parametrize("ct", ("full", "diag"))
def test_gaussian_history_never_decreases_with_reg_covar_zero(ct):
    X = _gauss_data(300, missing=0.3, seed=4)
    m = _fit(emkit.GaussianMixture(3, covariance_type=ct, reg_covar=0.0, missing="marginalize",
                                   acceleration=None, tol=0.0, max_iter=60, random_state=1), X)
    h = m.history_
    assert np.all(np.diff(h) >= -1e-12 * np.abs(h[1:]))


@pytest.mark.parametrize("ct", ("full", "diag", "spherical"))
def test_gaussian_chunked_equals_unchunked(ct):
    X = _gauss_data(500)
    kw = dict(missing="marginalize", random_state=0, tol=0.0, max_iter=15, acceleration=None,
              init_params="kmeans", covariance_type=ct)
    a = _fit(emkit.GaussianMixture(3, **kw), X)
    b = _fit(emkit.GaussianMixture(3, chunk_size=37, **kw), X)
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-11)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------- product families
def _discrete(kind, n=300, missing=0.2, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(2, n, p=[0.4, 0.6])
    d = 3
    if kind == "bernoulli":
        X = (rng.random((n, d)) < np.array([[0.2, 0.8, 0.3], [0.7, 0.3, 0.9]])[z]).astype(float)
    elif kind == "binomial":
        X = rng.binomial(8, np.array([[0.2, 0.8, 0.3], [0.7, 0.3, 0.9]])[z]).astype(float)
    elif kind == "poisson":
        X = rng.poisson(np.array([[1.0, 5.0, 2.0], [6.0, 1.0, 9.0]])[z]).astype(float)
    elif kind == "categorical":
        X = np.stack([rng.choice(4, p=p) for p in np.array([[0.6, 0.2, 0.1, 0.1],
                                                            [0.1, 0.1, 0.2, 0.6]])[z]])[:, None]
        X = np.c_[X, rng.integers(0, 3, n), (z + rng.integers(0, 2, n)) % 3].astype(float)
    else:
        X = rng.exponential(np.array([[1.0, 0.2, 3.0], [0.1, 2.0, 0.5]])[z])
    X[rng.random(X.shape) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = X[0, 0] if not np.isnan(X[0, 0]) else 1.0
    return X


ESTIMATORS = {
    "bernoulli": (emkit.BernoulliMixture, {}),
    "binomial": (emkit.BinomialMixture, {"n_trials": 8}),
    "poisson": (emkit.PoissonMixture, {}),
    "categorical": (emkit.CategoricalMixture, {}),
    "exponential": (emkit.ExponentialMixture, {}),
}


def _cell_logpmf(kind, m, X):
    """scipy.stats log pmf/pdf of every cell under every component, shape (n, K, d); NaN if missing."""
    seen = ~np.isnan(X)
    X0 = np.where(seen, X, 1.0)[:, None, :]
    if kind == "bernoulli":
        out = stats.bernoulli.logpmf(X0, m.probs_[None])
    elif kind == "binomial":
        out = stats.binom.logpmf(X0, 8, m.probs_[None])
    elif kind == "poisson":
        out = stats.poisson.logpmf(X0, m.rates_[None])
    elif kind == "categorical":
        K, d, _ = m.probs_.shape
        out = np.log(m.probs_[np.arange(K)[None, :, None], np.arange(d)[None, None, :],
                              X0.astype(int)])
    else:
        out = stats.expon.logpdf(X0, scale=1.0 / m.rates_[None])
    return np.where(seen[:, None, :], out, np.nan)


def _observed_log_density(kind, m, X):
    """log sum_k w_k prod_{observed j} f_kj(x_j), from the cells that are there."""
    return logsumexp(np.log(m.weights_)[None] + np.nansum(_cell_logpmf(kind, m, X), axis=2), axis=1)


def _product_reference_step(kind, X, m):
    """One EM step of a product family with every missing cell's factor dropped."""
    n, d = X.shape
    K = m.n_components
    lp = np.log(m.weights_)[None] + np.nansum(_cell_logpmf(kind, m, X), axis=2)
    R = np.exp(lp - logsumexp(lp, axis=1, keepdims=True))
    seen = ~np.isnan(X)
    out = {"weights": R.sum(axis=0) / n}
    if kind == "categorical":
        C = m.probs_.shape[2]
        counts = np.zeros((K, d, C))
        for i in range(n):
            for j in range(d):
                if seen[i, j]:
                    counts[:, j, int(X[i, j])] += R[i]
        out["probs"] = counts / counts.sum(axis=2, keepdims=True)
        return out
    X0 = np.where(seen, X, 0.0)
    sx = R.T @ X0
    nkj = R.T @ seen
    if kind == "bernoulli":
        out["probs"] = sx / nkj
    elif kind == "binomial":
        out["probs"] = sx / (8 * nkj)
    elif kind == "poisson":
        out["rates"] = sx / nkj
    else:
        out["rates"] = nkj / sx
    return out


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_product_family_score_samples_drops_the_missing_cells(kind):
    cls, kw = ESTIMATORS[kind]
    X = _discrete(kind)
    m = _fit(cls(2, missing="marginalize", random_state=0, **kw), X)
    np.testing.assert_allclose(m.score_samples(X), _observed_log_density(kind, m, X), rtol=1e-10,
                               atol=1e-10)
    assert m.predict(X).shape == (X.shape[0],)


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_product_family_em_step_equals_a_plain_reference(kind):
    cls, kw = ESTIMATORS[kind]
    X = _discrete(kind, 200)
    m = _fit(cls(2, missing="marginalize", random_state=0, max_iter=2, **kw), X)
    ref = _product_reference_step(kind, X, m)
    _one_more_step(m, X)
    np.testing.assert_allclose(m.weights_, ref["weights"], rtol=1e-10)
    key = "probs" if "probs" in ref else "rates"
    np.testing.assert_allclose(getattr(m, key + "_"), ref[key], rtol=1e-9, atol=1e-12)
    h = _fit(cls(2, missing="marginalize", random_state=0, acceleration=None, tol=0.0,
                 max_iter=40, **kw), X).history_
    assert np.all(np.diff(h) >= -1e-12 * np.abs(h[1:]))


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_product_family_without_missing_cells_is_the_complete_data_fit(kind):
    cls, kw = ESTIMATORS[kind]
    X = _discrete(kind, missing=0.0)
    a = _fit(cls(2, random_state=0, **kw), X)
    b = _fit(cls(2, missing="marginalize", random_state=0, max_iter=1, **kw), X)
    b._store_params(a._fitted_params())
    for m in (a, b):
        m.set_params(warm_start=True, max_iter=5, tol=0.0, acceleration=None)
        _fit(m, X)
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-12)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-11)


def test_binomial_per_row_trials_with_missing_cells():
    X = _discrete("binomial")
    n = X.shape[0]
    trials = np.full(n, 8)
    m = _fit(emkit.BinomialMixture(2, missing="marginalize", random_state=0), X, n_trials=trials)
    np.testing.assert_allclose(m.score_samples(X, n_trials=trials),
                               _observed_log_density("binomial", m, X), rtol=1e-10)


# ------------------------------------------------------------------- errors
def test_missing_errors_name_the_problem():
    X = _gauss_data()
    with pytest.raises(ValueError, match="NaN"):
        emkit.GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match="missing"):
        emkit.GaussianMixture(2, missing="impute").fit(X)
    Y = X.copy()
    Y[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 is entirely missing"):
        emkit.GaussianMixture(2, missing="marginalize").fit(Y)
    Y = X.copy()
    Y[3, 1] = np.inf
    with pytest.raises(ValueError, match="inf at row 3"):
        emkit.PoissonMixture(2, missing="marginalize").fit(np.abs(np.round(Y)))
    Z = _discrete("bernoulli")
    Z[5, 1] = 2.0
    with pytest.raises(ValueError, match=r"X\[5, 1\] = 2"):
        emkit.BernoulliMixture(2, missing="marginalize").fit(Z)


def test_model_file_round_trip_keeps_missing(tmp_path):
    X = _gauss_data()
    m = _fit(emkit.GaussianMixture(3, missing="marginalize", random_state=0), X)
    path = tmp_path / "g.emk"
    emkit.save(m, path)
    back = emkit.load(path)
    assert back.missing == "marginalize"
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))


@pytest.mark.parametrize("d", [1, 4, 63, 70])
def test_missing_patterns_group_rows_like_numpy_unique(d):
    from emkit.families._gaussian_missing import missing_patterns

    M = np.random.default_rng(d).random((3000, d)) < 0.3
    patterns, inverse = missing_patterns(M)
    ref_patterns, ref_inverse = np.unique(M, axis=0, return_inverse=True)
    assert patterns.shape == ref_patterns.shape
    np.testing.assert_array_equal(patterns[inverse], M)
    # the same partition of the rows
    pairs = set(zip(inverse.tolist(), ref_inverse.ravel().tolist()))
    assert len(pairs) == len(ref_patterns)


def _dropped_stats(X, w, means, var):
    """Diag Gaussian: the batch's statistics of the observed cells per unit weight, plainly."""
    n, d = X.shape
    K = len(w)
    R = np.empty((n, K))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        R[i] = [np.log(w[k]) + stats.norm(means[k, o], np.sqrt(var[k, o])).logpdf(x[o]).sum()
                for k in range(K)]
    R = np.exp(R - logsumexp(R, axis=1, keepdims=True))
    O = ~np.isnan(X)
    X0 = np.where(O, X, 0.0)
    return [R.sum(axis=0) / n, R.T @ X0 / n, R.T @ X0 ** 2 / n, R.T @ O / n]


def _dropped_m_step(s):
    nk, sx, sxx, nkj = s
    means = sx / nkj
    return nk / nk.sum(), means, sxx / nkj - means ** 2


def test_partial_fit_with_missing_cells_is_stepwise_em_of_the_observed_cells():
    """Online EM (Cappe & Moulines 2009) on incomplete batches: running statistics of the
    observed cells, each feature's M-step over the rows that observe it."""
    X = _gauss_data(300, missing=0.25, seed=3)
    B1, B2 = X[:150], X[150:]
    w0 = np.array([0.3, 0.3, 0.4])
    mu0 = np.array([[0.5, 0.0, 0.0], [3.0, 2.0, -1.0], [5.0, 3.0, 2.0]])
    var0 = np.ones((3, 3))
    m = emkit.GaussianMixture(3, covariance_type="diag", reg_covar=0.0, missing="marginalize",
                              weights_init=w0, means_init=mu0, precisions_init=1.0 / var0)
    m.partial_fit(B1)
    s1 = _dropped_stats(B1, w0, mu0, var0)
    w1, mu1, var1 = _dropped_m_step(s1)
    np.testing.assert_allclose(m.means_, mu1, rtol=1e-10)
    np.testing.assert_allclose(m.covariances_, var1, rtol=1e-9)
    m.partial_fit(B2, step_exponent=0.6)
    s2 = _dropped_stats(B2, w1, mu1, var1)
    g = 3.0 ** -0.6
    w2, mu2, var2 = _dropped_m_step([a + g * (b - a) for a, b in zip(s1, s2, strict=True)])
    np.testing.assert_allclose(m.weights_, w2, rtol=1e-10)
    np.testing.assert_allclose(m.means_, mu2, rtol=1e-10)
    np.testing.assert_allclose(m.covariances_, var2, rtol=1e-9)
