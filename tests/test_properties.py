"""Invariants of EM, checked by hypothesis over random data and settings."""

import os
import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import emkit
from emkit import SingularCovarianceError

COV = st.sampled_from(["full", "tied", "diag", "spherical"])
SETTINGS = settings(max_examples=int(os.environ.get("EMKIT_HYPOTHESIS_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _data(seed, n, d, K):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(K, d))
    labels = rng.integers(0, K, size=n)
    scale = rng.uniform(0.3, 2.0, size=(K, d))
    return centres[labels] + rng.normal(size=(n, d)) * scale[labels] + rng.normal(0, 50)


def full_covs(gm):
    from emkit.families.gaussian import GaussianFamily

    return GaussianFamily(gm.covariance_type).covariance_matrices(
        {"means": gm.means_, "covariances": gm.covariances_})


def _quiet_fit(model, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        return model.fit(X, **kw)


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(30, 150), d=st.integers(1, 3), K=st.integers(1, 3),
       ct=COV, init=st.sampled_from(["kmeans", "random", "k-means++", "random_from_data"]))
def test_log_likelihood_never_decreases_without_regularisation(seed, n, d, K, ct, init):
    X = _data(seed, n, d, K)
    gm = emkit.GaussianMixture(K, covariance_type=ct, reg_covar=0.0, init_params=init, tol=0.0,
                               max_iter=60, random_state=seed)
    try:
        _quiet_fit(gm, X)
    except SingularCovarianceError:
        assume(False)
    # a component collapsed onto d or fewer rows has a covariance made of rounding noise
    # (an unbounded, spurious maximum): EM is monotone only in exact arithmetic there
    assume(gm.degenerate_components_ == [])
    h = np.r_[gm.history_]
    assert np.all(np.isfinite(h))
    assert np.all(np.diff(h) >= -1e-12 * np.abs(h[1:]).max())


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(10, 120), d=st.integers(1, 4), K=st.integers(1, 4), ct=COV)
def test_responsibilities_sum_to_one_and_match_score(seed, n, d, K, ct):
    assume(K <= n)
    X = _data(seed, n, d, K)
    gm = _quiet_fit(emkit.GaussianMixture(K, covariance_type=ct, random_state=seed, max_iter=20), X)
    Y = _data(seed + 1, 50, d, K)
    resp = gm.predict_proba(Y)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(resp >= 0)
    lp = gm.component_log_densities(Y) + np.log(gm.weights_)
    np.testing.assert_allclose(resp, np.exp(lp - gm.score_samples(Y)[:, None]), rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(gm.predict(Y), lp.argmax(axis=1))


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(20, 200), d=st.integers(1, 3), K=st.integers(1, 3),
       ct=COV, chunk=st.integers(1, 64))
def test_chunked_equals_unchunked(seed, n, d, K, ct, chunk):
    X = _data(seed, n, d, K)
    # plain EM: SQUAREM's step lengths amplify the rounding of a different summation order
    kw = dict(covariance_type=ct, random_state=seed, max_iter=30, tol=0.0, acceleration=None)
    a = _quiet_fit(emkit.GaussianMixture(K, **kw), X)
    b = _quiet_fit(emkit.GaussianMixture(K, chunk_size=chunk, **kw), X)
    # near-singular (collapsed) components amplify the rounding of a different summation order
    assume(a.degenerate_components_ == [])
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-10 * abs(a.lower_bound_)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-10)


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(15, 100), d=st.integers(1, 3), K=st.integers(1, 3), ct=COV)
def test_integer_weights_equal_repeated_rows_and_zero_equals_dropped(seed, n, d, K, ct):
    X = _data(seed, n, d, K)
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 4, size=n)
    assume(np.count_nonzero(w) >= max(2, K))
    kw = dict(covariance_type=ct, random_state=0, max_iter=40, tol=1e-10)
    weighted = _quiet_fit(emkit.GaussianMixture(K, **kw), X, sample_weight=w)
    repeated = _quiet_fit(emkit.GaussianMixture(K, **kw), np.repeat(X, w, axis=0))
    assume(weighted.degenerate_components_ == [])
    # equal in exact arithmetic; the two summation orders differ in rounding, which a slow
    # EM path can grow to ~1e-6 in the parameters after 40 iterations
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-5, atol=1e-6)
    assert abs(weighted.lower_bound_ - repeated.lower_bound_) <= 1e-8 * abs(repeated.lower_bound_)
    # scaling every weight changes nothing
    scaled = _quiet_fit(emkit.GaussianMixture(K, **kw), X, sample_weight=w * 2.5)
    np.testing.assert_allclose(scaled.means_, weighted.means_, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(scaled.weights_, weighted.weights_, rtol=1e-8, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**31), ct=COV)
def test_weight_two_equals_duplicated_row(seed, ct):
    X = _data(seed, 40, 2, 2)
    w = np.ones(40)
    w[7] = 2.0
    Xd = np.insert(X, 8, X[7], axis=0)
    # The EM map: from one start, every plain EM step on the weighted rows equals the
    # step on the duplicated ones (two summation orders: rounding only).
    start = _quiet_fit(emkit.GaussianMixture(2, covariance_type=ct, init_params="kmeans", max_iter=1,
                                             random_state=1), X, sample_weight=w)
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
    kw = dict(covariance_type=ct, max_iter=30, tol=0.0, acceleration=None, **init)
    a = _quiet_fit(emkit.GaussianMixture(2, **kw), X, sample_weight=w)
    b = _quiet_fit(emkit.GaussianMixture(2, **kw), Xd)
    assume(a.degenerate_components_ == [])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-8, atol=1e-9)
    # Converged default fits agree as far as the stopping rule pins them down.  It
    # stops when the mean log-likelihood can gain less than tol, and near a maximum
    # that gain is quadratic in the parameters: tol = 1e-12 leaves them ~sqrt(2 tol)
    # = 1.4e-6 (in units of the spread; more on a flat ridge) from the optimum, so
    # two runs that take different paths (SQUAREM step lengths, which rounding
    # changes) can end ~1e-6 apart.  Comparing them at 1e-7 relative on means of
    # size ~50 (5e-6) once failed by 1e-7 for that reason: their log-likelihoods,
    # which the rule does pin down, agree.
    kw = dict(covariance_type=ct, random_state=1, tol=1e-12)
    a = _quiet_fit(emkit.GaussianMixture(2, **kw), X, sample_weight=w)
    b = _quiet_fit(emkit.GaussianMixture(2, **kw), Xd)
    assume(a.converged_ and b.converged_ and a.degenerate_components_ == b.degenerate_components_ == [])
    assume(abs(a.lower_bound_ - b.lower_bound_) < 1e-6)  # the same local maximum
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-11 * (1 + abs(b.lower_bound_))
    spread = np.sqrt(np.einsum("kii->ki", full_covs(a)))
    order = np.argsort(a.means_[:, 0]), np.argsort(b.means_[:, 0])
    np.testing.assert_array_less(np.abs(a.means_[order[0]] - b.means_[order[1]]), 1e-4 * spread[order[0]])
