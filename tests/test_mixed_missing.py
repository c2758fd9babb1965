"""MixedMixture(missing="marginalize"): missing blocks integrated out exactly."""

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

SETTINGS = settings(max_examples=int(os.environ.get("EMKIT_HYPOTHESIS_EXAMPLES", "15")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

BLOCKS = [("gaussian", [0, 1]), ("gaussian", [2]), ("bernoulli", [3]), ("poisson", [4]),
          ("categorical", [5])]


def _table(n, seed, missing=0.2):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.3, 0.4])
    X = np.empty((n, 6))
    X[:, :2] = rng.normal(np.array([[0, 0], [3, 1], [6, -1]])[z], 1.0)
    X[:, 1] += 0.5 * X[:, 0]
    X[:, 2] = rng.normal(np.array([-2.0, 0.0, 2.0])[z], 0.7)
    X[:, 3] = rng.random(n) < np.array([0.2, 0.8, 0.5])[z]
    X[:, 4] = rng.poisson(np.array([1.0, 4.0, 9.0])[z])
    X[:, 5] = rng.choice(3, n) * (z > 0) + (z == 0)
    out = X.copy()
    # whole blocks missing completely at random
    for cols in ([0, 1], [2], [3], [4], [5]):
        out[rng.random(n) < missing, cols[0]:cols[-1] + 1] = np.nan
    return out, z


def _independent_log_density(m, X):
    """log sum_k w_k prod_{observed blocks} f_kb(x_b), with scipy.stats, row by row."""
    out = np.empty(X.shape[0])
    K = m.n_components
    for i, x in enumerate(X):
        terms = np.log(m.weights_).copy()
        for k in range(K):
            if not np.isnan(x[0]):
                terms[k] += stats.multivariate_normal(m.b0_means_[k], m.b0_covariances_[k]).logpdf(x[:2])
            if not np.isnan(x[2]):
                terms[k] += stats.norm(m.b1_means_[k, 0], np.sqrt(m.b1_covariances_[k, 0, 0])).logpdf(x[2])
            if not np.isnan(x[3]):
                terms[k] += stats.bernoulli(m.b2_probs_[k, 0]).logpmf(x[3])
            if not np.isnan(x[4]):
                terms[k] += stats.poisson(m.b3_rates_[k, 0]).logpmf(x[4])
            if not np.isnan(x[5]):
                terms[k] += np.log(m.b4_probs_[k, 0, int(x[5])])
        out[i] = logsumexp(terms)
    return out


def test_score_samples_equals_per_row_scipy_marginals():
    X, _ = _table(400, 0)
    m = MixedMixture(3, blocks=BLOCKS, missing="marginalize", random_state=0).fit(X)
    rows = X[:60]
    assert np.isnan(rows).any(axis=1).sum() > 30
    np.testing.assert_allclose(m.score_samples(rows), _independent_log_density(m, rows),
                               rtol=1e-10, atol=1e-10)
    # a row with nothing observed scores log(1) = 0 and gets the prior
    empty = np.full((1, 6), np.nan)
    np.testing.assert_allclose(m.score_samples(empty), [0.0], atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(empty)[0], m.weights_, rtol=1e-12)
    assert m.predict(rows).shape == (60,)


def test_no_missing_cells_gives_the_complete_data_fit():
    X, _ = _table(500, 1, missing=0.0)
    kw = dict(blocks=BLOCKS, random_state=0, tol=1e-8, max_iter=300)
    a = MixedMixture(3, **kw).fit(X)
    b = MixedMixture(3, missing="marginalize", **kw).fit(X)
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.integers(60, 200), K=st.integers(1, 3),
       missing=st.floats(0.0, 0.5))
def test_em_never_decreases_the_observed_data_loglik(seed, n, K, missing):
    X, _ = _table(n, seed, missing)
    blocks = [("gaussian", [0, 1], {"reg_covar": 0.0}), ("gaussian", [2], {"reg_covar": 0.0}),
              ("bernoulli", [3]), ("poisson", [4]), ("categorical", [5])]
    assume(not np.isnan(X).all(axis=0).any())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = MixedMixture(K, blocks=blocks, missing="marginalize", random_state=seed % 1000,
                             tol=0.0, max_iter=30).fit(X)
    except SingularCovarianceError:
        assume(False)
    assume(not m.degenerate_components_)
    h = m.history_
    assert np.all(np.diff(h) >= -1e-9 * np.maximum(1.0, np.abs(h[1:])))


def test_chunked_equals_unchunked():
    X, _ = _table(700, 2)
    kw = dict(blocks=BLOCKS, missing="marginalize", random_state=0, tol=0.0, max_iter=25,
              acceleration=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = MixedMixture(3, **kw).fit(X)
        b = MixedMixture(3, chunk_size=61, **kw).fit(X)
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-11)
    np.testing.assert_allclose(a.b3_rates_, b.b3_rates_, rtol=1e-10)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-11)


def test_diagonal_recovery_with_30_percent_mcar_beats_complete_case():
    rng = np.random.default_rng(3)
    n = 20_000
    means = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, -2.0, 1.0, 4.0], [-3.0, 2.0, 4.0, -1.0]])
    sds = np.array([[1.0, 0.5, 1.5, 1.0], [0.7, 1.2, 1.0, 0.8], [1.3, 1.0, 0.6, 1.1]])
    z = rng.choice(3, n, p=[0.4, 0.35, 0.25])
    full = rng.normal(means[z], sds[z])
    X = np.where(rng.random(full.shape) < 0.3, np.nan, full)
    # a diagonal Gaussian is a product of one-column Gaussian blocks: cells drop out exactly
    blocks = [("gaussian", [j]) for j in range(4)]
    m = MixedMixture(3, blocks=blocks, missing="marginalize", random_state=0, tol=1e-6,
                     max_iter=500).fit(X)
    complete = X[~np.isnan(X).any(axis=1)]
    cc = MixedMixture(3, blocks=blocks, random_state=0, tol=1e-6, max_iter=500).fit(complete)

    def errors(model):
        mu = np.column_stack([getattr(model, f"b{j}_means_")[:, 0] for j in range(4)])
        sd = np.sqrt(np.column_stack([getattr(model, f"b{j}_covariances_")[:, 0, 0] for j in range(4)]))
        order = [int(np.argmin(((mu - t) ** 2).sum(axis=1))) for t in means]
        assert sorted(order) == [0, 1, 2]
        return np.abs(mu[order] - means).max(), np.abs(sd[order] - sds).max()

    mu_err, sd_err = errors(m)
    cc_mu_err, cc_sd_err = errors(cc)
    print(f"marginalized: mean error {mu_err:.4f}, sd error {sd_err:.4f}; "
          f"complete case ({complete.shape[0]} rows): mean error {cc_mu_err:.4f}, sd error {cc_sd_err:.4f}")
    assert mu_err < cc_mu_err and sd_err < cc_sd_err
    assert mu_err < 0.05 and sd_err < 0.05


def test_missing_error_is_the_default_and_names_the_cell():
    X, _ = _table(100, 4)
    with pytest.raises(ValueError, match="NaN.*first at row"):
        MixedMixture(2, blocks=BLOCKS).fit(X)
    with pytest.raises(ValueError, match="missing must be one of"):
        MixedMixture(2, blocks=BLOCKS, missing="impute").fit(X)


def test_entirely_missing_column_is_an_error_naming_it():
    pd = pytest.importorskip("pandas")
    X, _ = _table(100, 5, missing=0.0)
    X[:, 4] = np.nan
    df = pd.DataFrame(X, columns=["a", "b", "c", "d", "visits", "f"])
    blocks = [("gaussian", ["a", "b"]), ("gaussian", ["c"]), ("bernoulli", ["d"]),
              ("poisson", ["visits"]), ("categorical", ["f"])]
    with pytest.raises(ValueError, match="column 'visits' is entirely missing"):
        MixedMixture(2, blocks=blocks, missing="marginalize").fit(df)


def test_partly_missing_product_block_equals_one_block_per_column_and_inf_is_an_error():
    # a product family drops a missing cell's factor: a Poisson block over two columns with
    # single cells missing is the model of one Poisson block per column
    X, _ = _table(300, 6, missing=0.0)
    rng = np.random.default_rng(3)
    X[rng.random(300) < 0.2, 3] = np.nan
    X[rng.random(300) < 0.2, 4] = np.nan
    X[np.isnan(X[:, 3]) & np.isnan(X[:, 4]), 4] = 2.0
    two = BLOCKS[:2] + [("poisson", [3, 4]), ("categorical", [5])]
    split = BLOCKS[:2] + [("poisson", [3]), ("poisson", [4]), ("categorical", [5])]
    kw = dict(missing="marginalize", random_state=0, max_iter=8, tol=0.0, acceleration=None,
              init_params="kmeans")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = MixedMixture(3, blocks=two, **kw).fit(X)
        b = MixedMixture(3, blocks=split, **kw).fit(X)
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-10)
    np.testing.assert_allclose(a.b2_rates_, np.c_[b.b2_rates_, b.b3_rates_], rtol=1e-9)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-10)
    X[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"inf at row 7, column 1"):
        MixedMixture(2, blocks=two, missing="marginalize").fit(X)


def test_support_is_checked_on_observed_cells_and_round_trip(tmp_path):
    X, _ = _table(300, 7)
    X[3, 3] = 2.0
    with pytest.raises(ValueError, match=r"blocks\[2\] \(bernoulli.*X\[3, 3\] = 2"):
        MixedMixture(2, blocks=BLOCKS, missing="marginalize").fit(X)
    X[3, 3] = 1.0
    m = MixedMixture(2, blocks=BLOCKS, missing="marginalize", random_state=0).fit(X)
    path = tmp_path / "m.emk"
    emkit.save(m, path)
    back = emkit.load(path)
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))
