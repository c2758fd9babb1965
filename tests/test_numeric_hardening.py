"""No NaN from extreme magnitudes, float32 as accurate as float64, weights and row order
that change nothing (issue 10, items 1, 3 and 4, and the invariance tests)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit

COV = ["full", "tied", "diag", "spherical"]


def blobs(sep=6.0, n=200, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, (n, d)), rng.normal(sep, 1, (n, d))]


@pytest.mark.parametrize("ct", COV)
def test_far_row_scores_minus_inf_not_nan(ct):
    gm = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(blobs())
    s = gm.score_samples([[1e200, 0.0], [0.0, 0.0], [-1e300, 1e300]])
    assert s[0] == -np.inf and s[2] == -np.inf and np.isfinite(s[1])
    # scikit-learn's answer for the same parameters
    assert gm.predict([[1e200, 0.0]]).shape == (1,)


@pytest.mark.parametrize("ct", COV)
def test_overflowing_magnitudes_are_refused_not_nan(ct):
    with pytest.raises(ValueError, match=r"X\[0, 0\] = .* is beyond 1e\+150 in magnitude.*divide X"):
        emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(blobs() * 1e300)


@pytest.mark.parametrize("name,kw", [("PoissonMixture", {}), ("BinomialMixture", {"n_trials": 2**60}),
                                     ("CategoricalMixture", {})])
def test_counts_near_float_max_are_refused(name, kw):
    X = np.array([[1e308], [1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match=r"above 2\*\*53"):
        getattr(emkit, name)(2, random_state=0, **kw).fit(X)


@pytest.mark.parametrize("ct", COV)
@pytest.mark.parametrize("sep", [1e3, 1e4])
def test_float32_fit_equals_float64_fit_of_the_same_values(ct, sep):
    rng = np.random.default_rng(1)
    X32 = np.r_[rng.normal(0, 1, (400, 2)), rng.normal(sep, 1, (400, 2))].astype(np.float32)
    # reg_covar is relative to each feature's variance over all rows (~sep**2 / 4 here):
    # unit blobs 1e4 apart have variances 4e-8 of it, below the default 1e-6
    start = dict(means_init=[[0.0, 0.0], [sep, sep]], weights_init=[0.5, 0.5], tol=1e-10, max_iter=500,
                 reg_covar=1e-12)
    a = emkit.GaussianMixture(2, covariance_type=ct, **start).fit(X32.astype(np.float64))
    b = emkit.GaussianMixture(2, covariance_type=ct, **start).fit(X32)
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-5 * abs(a.lower_bound_)
    # the variances are those of unit blobs, not the 0.955 of float32 sums about one centre
    var = np.einsum("kii->ki", emkit.families.gaussian.GaussianFamily(ct).covariance_matrices(
        {"covariances": b.covariances_, "means": b.means_}))
    np.testing.assert_allclose(var, np.einsum("kii->ki", emkit.families.gaussian.GaussianFamily(ct)
                               .covariance_matrices({"covariances": a.covariances_, "means": a.means_})),
                               rtol=1e-4)


def _two_groups(kind, rng, n=120):
    """Two groups of rows for one family: ``n`` rows of each."""
    lab = np.repeat([0, 1], n)[:, None]
    if kind == "real":
        return rng.normal(6.0 * lab, 1.0, (2 * n, 2))
    if kind == "binary":
        return (rng.random((2 * n, 4)) < np.where(lab == 0, 0.2, 0.8)).astype(float)
    if kind == "trials":
        return rng.binomial(10, np.where(lab == 0, 0.2, 0.7), (2 * n, 2)).astype(float)
    if kind == "counts":
        return rng.poisson(np.where(lab == 0, 2.0, 15.0), (2 * n, 2)).astype(float)
    if kind == "codes":
        p0, p1 = [0.7, 0.2, 0.1], [0.1, 0.2, 0.7]
        a = np.where(lab[:, 0] == 0, rng.choice(3, 2 * n, p=p0), rng.choice(3, 2 * n, p=p1))
        return np.c_[a, rng.integers(0, 4, 2 * n)].astype(float)
    if kind == "positive":
        return rng.exponential(np.where(lab == 0, 1.0, 20.0), (2 * n, 1))
    return np.c_[_two_groups("real", rng, n), _two_groups("counts", rng, n)[:, :1]]  # mixed


_QUICK = dict(init_params="kmeans", random_state=0)
WEIGHT_SCALE_CASES = [
    *[("real", lambda ct=ct: emkit.GaussianMixture(2, covariance_type=ct, **_QUICK)) for ct in COV],
    ("binary", lambda: emkit.BernoulliMixture(2, **_QUICK)),
    ("trials", lambda: emkit.BinomialMixture(2, n_trials=10, **_QUICK)),
    ("counts", lambda: emkit.PoissonMixture(2, **_QUICK)),
    ("codes", lambda: emkit.CategoricalMixture(2, **_QUICK)),
    ("positive", lambda: emkit.ExponentialMixture(2, **_QUICK)),
    ("mixed", lambda: emkit.MixedMixture(2, blocks=[("gaussian", [0, 1], {"covariance_type": "full"}),
                                                    ("poisson", [2])], **_QUICK)),
]


@pytest.mark.parametrize("kind,est", WEIGHT_SCALE_CASES,
                         ids=["gaussian-" + ct for ct in COV]
                         + ["bernoulli", "binomial", "poisson", "categorical", "exponential", "mixed"])
def test_multiplying_every_weight_changes_nothing(kind, est):
    # issue 10, item 3: every family, weights times any constant from 1e-20 to 1e20
    rng = np.random.default_rng(2)
    X = _two_groups(kind, rng)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    ref = est().fit(X, sample_weight=w)
    fitted = [a for a, v in vars(ref).items() if a.endswith("_") and not a.startswith("_")
              and isinstance(v, np.ndarray) and v.dtype.kind == "f" and a != "history_"]
    assert "weights_" in fitted and len(fitted) >= 2  # the weights and the components' parameters
    for c in (1e-20, 1e-8, 1e8, 1e20):
        got = est().fit(X, sample_weight=w * c)
        assert got.n_iter_ == ref.n_iter_, c
        for attr in fitted:
            np.testing.assert_allclose(getattr(got, attr), getattr(ref, attr), rtol=1e-8, atol=1e-12,
                                       err_msg=f"{attr}, weights times {c:g}")
        assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)


def test_tiny_weights_do_not_merge_components():
    X = blobs()
    gm = emkit.GaussianMixture(2, random_state=0).fit(X, sample_weight=np.full(X.shape[0], 1e-20))
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]), [0.0, 6.0], atol=0.3)


@pytest.mark.parametrize("ct", COV)
def test_row_permutation_changes_nothing(ct):
    X = blobs(sep=3.0, seed=4)
    perm = np.random.default_rng(5).permutation(X.shape[0])
    # a fixed number of EM steps from a fixed start: the same iterates whatever the row order
    start = dict(means_init=[[0.0, 0.0], [3.0, 3.0]], weights_init=[0.5, 0.5], tol=0.0, max_iter=40)
    with pytest.warns(emkit.ConvergenceWarning):
        a = emkit.GaussianMixture(2, covariance_type=ct, **start).fit(X)
    with pytest.warns(emkit.ConvergenceWarning):
        b = emkit.GaussianMixture(2, covariance_type=ct, **start).fit(X[perm])
    for attr in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(b, attr), getattr(a, attr), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


# ------------------------------------------------ predict memory (item 10) and bic/aic (item 11)
@pytest.fixture(scope="module")
def many_rows():
    """200,000 rows and a 16-component diagonal model fitted (2 steps) on the first 20,000."""
    X = np.random.default_rng(3).normal(0, 3, (200_000, 2))
    gm = emkit.GaussianMixture(16, covariance_type="diag", max_iter=2, tol=0.0, random_state=0,
                               chunk_size=10_000)
    with pytest.warns(emkit.ConvergenceWarning):
        gm.fit(X[:20_000])
    return gm, X


def peak_bytes(fn):
    """``fn()`` and the peak of the memory Python allocated while it ran."""
    import tracemalloc

    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_predict_and_score_samples_work_chunk_by_chunk(many_rows):
    gm, X = many_rows
    n, K = X.shape[0], gm.n_components
    ref = gm.component_log_densities(X[:5000]) + np.log(gm.weights_)
    labels, peak_predict = peak_bytes(lambda: gm.predict(X))
    s, peak_score = peak_bytes(lambda: gm.score_samples(X))
    dense = n * K * 8  # one (n, K) float64 array: 25.6 MB
    assert peak_predict < dense / 2 and peak_score < dense / 2
    np.testing.assert_array_equal(labels[:5000], ref.argmax(axis=1))
    from scipy.special import logsumexp

    np.testing.assert_allclose(s[:5000], logsumexp(ref, axis=1), rtol=1e-12)


def test_impossible_rows_get_finite_posteriors():
    gm = emkit.GaussianMixture(2, random_state=0).fit(blobs())
    p = gm.predict_proba([[1e200, 0.0], [0.0, 0.0]])
    assert not np.isnan(p).any()
    np.testing.assert_allclose(p[0], gm.weights_)


def test_bic_aic_take_the_row_count_from_the_scores(monkeypatch):
    X = blobs()
    gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    ll = gm.score_samples(X).sum()
    p = gm._n_parameters()
    assert gm.bic(X.tolist()) == pytest.approx(-2 * ll + p * np.log(X.shape[0]), rel=1e-12)
    assert gm.aic(X) == pytest.approx(-2 * ll + 2 * p, rel=1e-12)


# ------------------------------------------------- no NaN responsibilities in the fit itself
def test_normalize_log_gives_impossible_rows_the_weights():
    from emkit.engine.em import normalize_log

    log_w = np.log([0.2, 0.8])
    lp = np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)], [-np.inf, 1.0]]) + log_w
    log_norm, resp = normalize_log(lp.copy(), log_w)
    assert not np.isnan(resp).any()
    np.testing.assert_allclose(resp[0], [0.2, 0.8])
    np.testing.assert_allclose(resp[1], [0.2, 2.4] / np.float64(2.6))
    np.testing.assert_allclose(resp[2], [0.0, 1.0])
    assert log_norm[0] == -np.inf
    np.testing.assert_allclose(log_norm[1:], [np.log(0.2 + 0.8 * 3.0), 1.0 + np.log(0.8)])
    # without weights: uniform
    np.testing.assert_allclose(normalize_log(np.full((1, 4), -np.inf))[1], [[0.25] * 4])


@pytest.mark.parametrize("ct,prec", [("diag", [[1e20], [1e20]]), ("spherical", [1e20, 1e20]),
                                     ("tied", [[1e20]])])
def test_rows_impossible_at_the_start_never_make_the_fit_nan(ct, prec):
    # a start of variance 1e-20 puts the row at 1e145 at a squared distance
    # beyond float64: its log density is -inf under both components, and its
    # responsibilities were 0/0 = NaN, which made every fitted value NaN
    # (diag/spherical) with only a ConvergenceWarning
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 1))
    X[0] = 1e145
    gm = emkit.GaussianMixture(2, covariance_type=ct, means_init=[[0.0], [1.0]], precisions_init=prec,
                               max_iter=5, tol=0.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)  # 5 steps of 1e145-scale data
            warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)  # 199 rows vs 1e145
            gm.fit(X)
    except emkit.SingularCovarianceError:
        return  # a clear error is allowed; a NaN result is not
    for v in (gm.weights_, gm.means_, gm.covariances_, gm.history_, [gm.lower_bound_]):
        assert np.isfinite(v).all()


def test_icl_works_chunk_by_chunk_and_equals_the_dense_formula(many_rows):
    gm, X = many_rows
    n, K = X.shape[0], gm.n_components
    icl, peak = peak_bytes(lambda: gm.icl(X))
    assert peak < n * K * 8 / 2  # half of one dense (n, K) float64 array
    from scipy.special import logsumexp

    lp = gm.component_log_densities(X) + np.log(gm.weights_)
    ll = logsumexp(lp, axis=1)
    tau = np.exp(lp - ll[:, None])
    dense = -2 * ll.sum() + gm._n_parameters() * np.log(n) - 2 * np.log(tau.max(axis=1)).sum()
    assert icl == pytest.approx(dense, rel=1e-12)
