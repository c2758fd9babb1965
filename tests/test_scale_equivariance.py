"""Results that do not depend on the units of the data (issue 10, item 2).

``reg_covar`` and the degeneracy test are relative to each feature's variance
in the data, so fitting ``X * c + b`` gives the transformed fit of ``X``:
the same responsibilities, means ``c mu + b``, covariances ``c**2 Sigma`` and
a mean log-likelihood lower by ``d log|c|`` (``n d log|c|`` in total).  Full
and tied covariances are also affine equivariant: ``mu -> A mu + b``,
``Sigma -> A Sigma A'``, the log-likelihood lower by ``n log|det A|``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import emkit
from emkit.families.gaussian import GaussianFamily

COV = ["full", "tied", "diag", "spherical"]
SETTINGS = settings(max_examples=int(os.environ.get("EMKIT_HYPOTHESIS_EXAMPLES", "25")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])


def blobs(sep=6.0, n=200, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, (n, d)), rng.normal(sep, 1, (n, d))]


def quiet(model, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return model.fit(X, **kw)


def full_covs(gm):
    return GaussianFamily(gm.covariance_type).covariance_matrices(
        {"means": gm.means_, "covariances": gm.covariances_})


def assert_transformed(ref, got, X, Y, A, b, rtol=1e-8):
    """``got`` (fitted on ``Y = X A' + b``) is ``ref`` (fitted on ``X``) transformed."""
    n, d = X.shape
    np.testing.assert_allclose(got.weights_, ref.weights_, rtol=rtol, atol=1e-12)
    mu = ref.means_ @ A.T + b
    np.testing.assert_allclose(got.means_, mu, rtol=rtol, atol=rtol * np.abs(mu).max())
    S = A @ full_covs(ref) @ A.T
    np.testing.assert_allclose(full_covs(got), S, rtol=rtol, atol=rtol * np.abs(S).max())
    log_det = np.log(abs(np.linalg.det(A)))
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_ - log_det, rel=rtol, abs=1e-9)
    np.testing.assert_allclose(got.predict_proba(Y), ref.predict_proba(X), atol=1e-8)
    # the total log-likelihood of the n rows moves by exactly -n log|det A|
    assert got.score_samples(Y).sum() == pytest.approx(ref.score_samples(X).sum() - n * log_det,
                                                       rel=1e-10, abs=1e-7 * n)
    assert got.degenerate_components_ == ref.degenerate_components_


# ----------------------------------------------------- scale and translation
@pytest.mark.parametrize("ct", COV)
@pytest.mark.parametrize("c", [1e-8, 1e-6, 1e-3, 1e3, 1e6, 1e8])
def test_scaled_and_shifted_data_give_the_transformed_fit(ct, c):
    rng = np.random.default_rng(7)
    # three overlapping components, so EM runs many steps and the start matters
    X = np.r_[rng.normal(0, 1, (150, 2)), rng.normal([2.5, 0], [1, 2], (150, 2)),
              rng.normal([0, 4], 0.7, (100, 2))]
    b = np.array([30.0, -20.0]) * c
    kw = dict(covariance_type=ct, random_state=0)
    ref = emkit.GaussianMixture(3, **kw).fit(X)
    got = emkit.GaussianMixture(3, **kw).fit(X * c + b)
    assert ref.converged_ and got.converged_
    assert_transformed(ref, got, X, X * c + b, c * np.eye(2), b)


@pytest.mark.parametrize("ct", COV)
def test_negative_factor_mirrors_the_fit(ct):
    X = blobs(sep=3.0, seed=1)
    ref = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    got = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(-1e5 * X)
    A = -1e5 * np.eye(2)
    # k-means and the other starts see the mirrored data; the labels may come in another order
    order = np.argsort(got.means_[:, 0])[::-1]
    # (the mirrored data reach the optimum along another path, so only to what tol pins down)
    np.testing.assert_allclose(got.means_[order], ref.means_[np.argsort(ref.means_[:, 0])] @ A.T,
                               rtol=1e-7)
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_ - 2 * np.log(1e5), rel=1e-10)


@SETTINGS
@given(seed=st.integers(0, 2**31), log_c=st.floats(-6, 6), ct=st.sampled_from(COV),
       K=st.integers(1, 3), d=st.integers(1, 3))
def test_property_fit_of_c_times_x_is_the_rescaled_fit(seed, log_c, ct, K, d):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (K, d))
    labels = rng.integers(0, K, 120)
    X = centres[labels] + rng.normal(size=(120, d)) * rng.uniform(0.3, 2.0, (K, d))[labels]
    c = 10.0 ** log_c
    # the EM map from a k-means start, a fixed number of steps: two runs stopped by a
    # rule on the log-likelihood can stop a step apart when rounding moves the decision
    # (about 1e-6 in the parameters with tol=1e-9), which is not a matter of units
    kw = dict(covariance_type=ct, random_state=seed % 1000, init_params="kmeans", tol=0.0,
              max_iter=60, acceleration=None)
    ref = quiet(emkit.GaussianMixture(K, **kw), X)
    assume(not ref.degenerate_components_)
    got = quiet(emkit.GaussianMixture(K, **kw), X * c)
    assert_transformed(ref, got, X, X * c, c * np.eye(d), np.zeros(d))


# ------------------------------------------------------------ affine maps
def _transformed_start(X, K, A, b, ct, seed=0):
    """A start (k-means of X) and the same start mapped by x -> A x + b."""
    gm = quiet(emkit.GaussianMixture(K, covariance_type=ct, init_params="kmeans", max_iter=1,
                                     random_state=seed), X)
    Ainv = np.linalg.inv(A)
    prec = gm.precisions_
    if ct == "diag":  # A is diagonal here
        mapped = prec / np.diag(A) ** 2
    else:
        mapped = Ainv.T @ prec @ Ainv
    start = dict(weights_init=gm.weights_, means_init=gm.means_, precisions_init=prec)
    return start, dict(weights_init=gm.weights_, means_init=gm.means_ @ A.T + b, precisions_init=mapped)


@pytest.mark.parametrize("ct", ["full", "tied"])
def test_affine_map_gives_the_mapped_fit(ct):
    rng = np.random.default_rng(11)
    X = np.r_[rng.normal(0, 1, (200, 3)), rng.normal([3, 1, 0], [1, 0.5, 2], (200, 3))]
    A = np.array([[2.0, 0.5, 0.0], [-1.0, 1e-3, 0.3], [0.0, 4.0, 1e3]])
    b = np.array([1e3, -5.0, 0.25])
    s_x, s_y = _transformed_start(X, 2, A, b, ct)
    # without a floor the EM map commutes with any affine map; with the relative
    # floor (per-feature variances) only with diagonal ones, tested below
    # (a fixed number of steps: two runs stopped by a rule on the log-likelihood
    # may stop one step apart, which is a difference of the stopping rule, not of EM)
    kw = dict(covariance_type=ct, reg_covar=0.0, tol=0.0, max_iter=200)
    ref = quiet(emkit.GaussianMixture(2, **kw, **s_x), X)
    got = quiet(emkit.GaussianMixture(2, **kw, **s_y), X @ A.T + b)
    assert_transformed(ref, got, X, X @ A.T + b, A, b, rtol=1e-8)


@pytest.mark.parametrize("ct", ["full", "tied", "diag"])
def test_per_feature_units_give_the_mapped_fit_with_the_default_floor(ct):
    # a column in millimetres next to one in kilometres: the relative floor follows each
    rng = np.random.default_rng(12)
    X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal([2, 2], [1, 0.5], (200, 2))]
    A = np.diag([1e6, 1e-6])
    s_x, s_y = _transformed_start(X, 2, A, np.zeros(2), ct)
    kw = dict(covariance_type=ct, tol=0.0, max_iter=200)
    ref = quiet(emkit.GaussianMixture(2, **kw, **s_x), X)
    got = quiet(emkit.GaussianMixture(2, **kw, **s_y), X @ A.T)
    assert_transformed(ref, got, X, X @ A.T, A, np.zeros(2), rtol=1e-8)
    # (the default start is not part of this: k-means measures distances in the
    # units given, so only a common factor c leaves it unchanged)
    # scikit-learn's absolute floor swamps the column in kilometres (variance 1e-12)
    with pytest.warns(emkit.DegenerateComponentWarning):
        absolute = quiet(emkit.GaussianMixture(2, **kw, reg_covar_relative=False, **s_y), X @ A.T)
    assert np.einsum("kii->ki", full_covs(absolute))[:, 1].min() > 1e-6


# ------------------------------------------------------- a plain reference EM
def plain_em(X, weights, means, covs, reg, steps):
    """Textbook EM for full covariances with the floor ``reg * var_j`` on the diagonal."""
    floor = reg * X.var(axis=0)
    for _ in range(steps):
        lp = np.column_stack([multivariate_normal(means[k], covs[k]).logpdf(X) for k in range(len(weights))])
        lp += np.log(weights)
        resp = np.exp(lp - logsumexp(lp, axis=1)[:, None])
        nk = resp.sum(axis=0)
        weights = nk / X.shape[0]
        means = (resp.T @ X) / nk[:, None]
        covs = np.array([((X - means[k]).T * resp[:, k]) @ (X - means[k]) / nk[k] + np.diag(floor)
                         for k in range(len(weights))])
    return weights, means, covs


@pytest.mark.parametrize("c", [1e-8, 1.0, 1e8])
def test_iterates_equal_a_plain_reference_em_with_the_relative_floor(c):
    rng = np.random.default_rng(13)
    X = np.r_[rng.normal(0, 1, (150, 2)), rng.normal([1.5, 0.5], [0.5, 2], (150, 2))] * c
    w0, m0 = np.array([0.4, 0.6]), np.array([[-1.0, 0.0], [2.0, 1.0]]) * c
    S0 = np.array([np.eye(2), np.eye(2)]) * c**2
    reg = 1e-2  # large, so a floor taken in the wrong units would show
    w, m, S = plain_em(X, w0, m0, S0, reg, steps=8)
    with pytest.warns(emkit.ConvergenceWarning):
        gm = emkit.GaussianMixture(2, reg_covar=reg, tol=0.0, max_iter=8, acceleration=None,
                                   weights_init=w0, means_init=m0,
                                   precisions_init=np.linalg.inv(S0)).fit(X)
    np.testing.assert_allclose(gm.weights_, w, rtol=1e-9)
    np.testing.assert_allclose(gm.means_, m, rtol=1e-9, atol=1e-9 * c)
    np.testing.assert_allclose(gm.covariances_, S, rtol=1e-9, atol=1e-9 * c**2)


# ------------------------------------------------------------- degeneracy
@pytest.mark.parametrize("c", [1e-3, 1e-20, 1e6])
def test_separated_blobs_at_any_scale_select_two_components(c):
    # an absolute floor flagged every K >= 2 degenerate at 1e-3 (variance 1e-6 <= 2 reg_covar)
    best, table = emkit.select_model(blobs() * c, n_components=range(1, 4), random_state=0)
    assert best.n_components == 2
    assert not any(r["degenerate"] for r in table if r["n_components"] == 2)
    np.testing.assert_allclose(np.sort(best.means_[:, 0]) / c, [0.0, 6.0], atol=0.25)


@pytest.mark.parametrize("c", [1e-20, 1e-6, 1.0, 1e6])
def test_a_collapsed_component_is_flagged_at_every_scale(c):
    # issue 10 item 5's data: 12 copies of 1.7 between two unit blobs
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, 200), rng.normal(4, 1, 200), np.full(12, 1.7)][:, None] * c
    var = X.var(axis=0)
    fam = GaussianFamily("full", 1e-6, None, True, var)
    covs = np.array([[[1.0]], [[0.0]], [[1.0]]]) * c**2
    params = {"means": np.array([[0.0], [1.7], [4.0]]) * c, "covariances": covs}
    covs[1] = 1.01e-6 * var  # collapsed: its variance is the floor
    assert fam.degenerate_components(params) == [1]
    covs[1] = 10e-6 * var  # ten times the floor: small, but a variance of the data
    assert fam.degenerate_components(params) == []


def test_data_near_1e_minus_20_keeps_its_components_apart():
    gm = emkit.GaussianMixture(2, random_state=0).fit(blobs() * 1e-20)
    assert gm.degenerate_components_ == []
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]) * 1e20, [0.0, 6.0], atol=0.25)


# ---------------------------------------------- scikit-learn's absolute floor
def test_absolute_floor_reaches_scikit_learns_optimum_on_small_data():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X = blobs(sep=3.0, seed=2) * 1e-3  # variances 1e-6: the absolute floor matters here
    start = dict(weights_init=[0.5, 0.5], means_init=[[0.0, 0.0], [3e-3, 3e-3]],
                 precisions_init=np.array([np.eye(2), np.eye(2)]) * 1e6)
    # the same 50 EM steps (a floor the size of the variances makes the regularised
    # M-step lower the likelihood, so a stopping rule would stop the two at different places)
    with pytest.warns(ConvergenceWarning):
        sk = SkGaussianMixture(2, tol=0.0, max_iter=50, **start).fit(X)
    # (at this scale the absolute floor is the size of the variances: both components
    # sit at it and are flagged)
    with pytest.warns((ConvergenceWarning, emkit.DegenerateComponentWarning)):
        em = emkit.GaussianMixture(2, reg_covar_relative=False, tol=0.0, max_iter=50,
                                   acceleration=None, **start).fit(X)
    assert em.score(X) == pytest.approx(sk.score(X), rel=1e-12)
    assert em.degenerate_components_ == [0, 1]
    np.testing.assert_allclose(em.means_, sk.means_, rtol=1e-10)
    np.testing.assert_allclose(em.covariances_, sk.covariances_, rtol=1e-10)
    # the default (relative) floor is 1e-6 of the data's variances, not 1e-6 itself
    with pytest.warns(ConvergenceWarning):
        rel = emkit.GaussianMixture(2, tol=0.0, max_iter=50, acceleration=None, **start).fit(X)
    assert rel.covariances_[:, 0, 0].max() < 0.6 * sk.covariances_[:, 0, 0].min()
    assert rel.degenerate_components_ == []
