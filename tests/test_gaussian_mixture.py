"""GaussianMixture behaviour: attributes, fixed parameters, degenerate fits, bad input."""

import ast
import inspect
import logging
import textwrap
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError

import emkit
from emkit.datasets import load_faithful
from emkit.engine import em as em_module
from emkit.families import gaussian as gaussian_module

COV = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


def test_fitted_attributes_shapes_and_consistency(faithful):
    X = faithful
    shapes = {"full": (2, 2, 2), "tied": (2, 2), "diag": (2, 2), "spherical": (2,)}
    for ct in COV:
        gm = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
        assert gm.covariances_.shape == shapes[ct] == gm.precisions_.shape == gm.precisions_cholesky_.shape
        assert gm.means_.shape == (2, 2) and gm.weights_.shape == (2,)
        assert gm.n_features_in_ == 2 and gm.converged_ and gm.n_iter_ >= 1
        # SQUAREM (the default) records accepted iterates; n_iter_ counts data passes
        assert 1 <= gm.history_.shape[0] <= gm.n_iter_ == gm.n_passes_ - 1
        assert gm.lower_bound_ == pytest.approx(gm.score(X), rel=1e-12)
        assert gm.degenerate_components_ == []
        for name in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "history_"]:
            assert np.all(np.isfinite(getattr(gm, name)))
        covs = gm._fitted_family().covariance_matrices(gm._fitted_params())
        precs = np.linalg.inv(covs)
        full_prec = {"full": gm.precisions_, "tied": np.broadcast_to(gm.precisions_, (2, 2, 2)),
                     "diag": precs, "spherical": precs}[ct]
        np.testing.assert_allclose(full_prec, precs, rtol=1e-10)
        logpdf = np.stack([stats.multivariate_normal(gm.means_[k], covs[k]).logpdf(X) for k in range(2)], axis=1)
        np.testing.assert_allclose(gm.component_log_densities(X), logpdf, rtol=1e-10)


def test_fit_predict_equals_fit_then_predict(faithful):
    a = emkit.GaussianMixture(3, random_state=1).fit_predict(faithful)
    b = emkit.GaussianMixture(3, random_state=1).fit(faithful).predict(faithful)
    np.testing.assert_array_equal(a, b)


def test_sample_shapes_and_moments():
    gm = emkit.GaussianMixture(2, covariance_type="full", random_state=0)
    gm.fit(load_faithful())
    X, y = gm.sample(20000)
    assert X.shape == (20000, 2) and y.shape == (20000,)
    assert np.all(np.diff(y) >= 0)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), gm.means_[k], rtol=0.02)
        np.testing.assert_allclose(np.cov(X[y == k].T), gm.covariances_[k], rtol=0.1, atol=0.02)
    np.testing.assert_allclose(np.bincount(y) / 20000, gm.weights_, atol=0.015)
    with pytest.raises(ValueError, match="n_samples"):
        gm.sample(0)


def test_bic_aic_closed_form(faithful):
    gm = emkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(faithful)
    n = faithful.shape[0]
    p = 2 * 2 + 2 * 2 + 1  # means, diagonal variances, one free weight
    ll = gm.score_samples(faithful).sum()
    assert gm.bic(faithful) == pytest.approx(-2 * ll + p * np.log(n), rel=1e-12)
    assert gm.aic(faithful) == pytest.approx(-2 * ll + 2 * p, rel=1e-12)
    fixed = emkit.GaussianMixture(2, covariance_type="diag", random_state=0, fixed=("weights",)).fit(faithful)
    assert fixed._n_parameters() == p - 1


def test_fixed_parameters_stay_at_initial_values(faithful):
    means = np.array([[2.0, 55.0], [4.5, 80.0]])
    gm = emkit.GaussianMixture(2, means_init=means, fixed=("means",), random_state=0).fit(faithful)
    np.testing.assert_array_equal(gm.means_, means)
    w = np.array([0.3, 0.7])
    gm = emkit.GaussianMixture(2, weights_init=w, fixed=["weights"], random_state=0).fit(faithful)
    np.testing.assert_array_equal(gm.weights_, w)
    prec = np.ones((2, 2))
    gm = emkit.GaussianMixture(2, covariance_type="diag", precisions_init=prec, fixed=("covariances",),
                               random_state=0).fit(faithful)
    np.testing.assert_allclose(gm.covariances_, 1.0 / prec)
    # holding the means at the free optimum changes nothing
    free = emkit.GaussianMixture(2, random_state=0, tol=1e-10).fit(faithful)
    held = emkit.GaussianMixture(2, means_init=free.means_, weights_init=free.weights_,
                                 precisions_init=free.precisions_, fixed=("means",), tol=1e-10).fit(faithful)
    np.testing.assert_allclose(held.covariances_, free.covariances_, rtol=1e-5)


def test_warm_start_continues_from_previous_fit(faithful):
    # a single k-means start: "auto" starts so close to the optimum that two passes can converge
    gm = emkit.GaussianMixture(2, max_iter=2, warm_start=True, random_state=0, tol=1e-10,
                               init_params="kmeans")
    with pytest.warns(emkit.ConvergenceWarning):
        gm.fit(faithful)
    first = gm.lower_bound_
    with pytest.warns(emkit.ConvergenceWarning):
        gm.fit(faithful)
    assert gm.lower_bound_ >= first
    assert gm.history_[0] >= first - 1e-12


def test_n_init_keeps_best_non_degenerate_run(faithful):
    # with seed 0 the single run collapses a component onto a spike (higher likelihood,
    # spurious); n_init must rank the non-degenerate runs first, then by likelihood
    singles = []
    for s in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
            gm = emkit.GaussianMixture(4, init_params="random", random_state=s, max_iter=300).fit(faithful)
        singles.append((not gm.degenerate_components_, gm.lower_bound_))
    best = emkit.GaussianMixture(4, init_params="random", n_init=3, random_state=0, max_iter=300).fit(faithful)
    assert best.degenerate_components_ == []
    good = [ll for ok, ll in singles if ok]
    assert good and best.lower_bound_ >= max(good) - 1e-7 * abs(max(good))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_init_method_finds_the_two_eruption_types(faithful, init):
    # random soft responsibilities start every component near the grand mean, where the
    # first changes are below the default tol (as in scikit-learn): use a tight tol
    gm = emkit.GaussianMixture(2, init_params=init, n_init=3, random_state=0, max_iter=2000,
                               tol=1e-8).fit(faithful)
    np.testing.assert_allclose(np.sort(gm.means_[:, 1]), [54.5, 80.0], atol=1.0)


def test_float32_input_is_accepted(faithful):
    a = emkit.GaussianMixture(2, random_state=0).fit(faithful.astype(np.float32))
    b = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-4)
    assert a.means_.dtype == np.float64


def test_verbose_logs_through_logging(faithful, caplog):
    with caplog.at_level(logging.INFO, logger="emkit"):
        emkit.GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(faithful)
    messages = [r.getMessage() for r in caplog.records]
    assert any("initialisation 1 of 1" in m for m in messages)
    assert any(m.startswith("iteration 1:") for m in messages)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_degenerate_component_on_repeated_values_is_reported(scale):
    # 30 copies of one value: the component on them collapses onto the covariance floor,
    # which is relative (reg_covar times the data's variance), so it is reported at every
    # scale and its variance is reg_covar * var(X), in the data's units
    rng = np.random.default_rng(0)
    X = scale * np.r_[rng.normal(0, 1, 200), np.full(30, 5.0)][:, None]
    gm = emkit.GaussianMixture(2, means_init=[[0.0], [5.0 * scale]], random_state=0)
    with pytest.warns(emkit.DegenerateComponentWarning, match=r"component\(s\) \[1\]"):
        gm.fit(X)
    assert gm.degenerate_components_ == [1]
    assert gm.covariances_[1, 0, 0] == pytest.approx(gm.reg_covar * np.var(X), rel=1e-6)
    assert gm.covariances_[0, 0, 0] == pytest.approx(scale**2, rel=0.2)  # the N(0, 1) block is not
    assert np.all(np.isfinite(gm.score_samples(X)))


def test_degenerate_component_with_absolute_floor_sits_on_reg_covar():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, 200), np.full(30, 5.0)][:, None]
    gm = emkit.GaussianMixture(2, means_init=[[0.0], [5.0]], reg_covar_relative=False, random_state=0)
    with pytest.warns(emkit.DegenerateComponentWarning, match=r"component\(s\) \[1\]"):
        gm.fit(X)
    assert gm.degenerate_components_ == [1]
    assert gm.covariances_[1, 0, 0] == pytest.approx(gm.reg_covar, rel=1e-6)


def test_singular_covariance_names_component_and_suggests_fixes():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, 200), np.full(30, 5.0)][:, None]
    # seeded: the k-means labels decide which component starts on the constant block
    gm = emkit.GaussianMixture(2, means_init=[[0.0], [5.0]], reg_covar=0.0, random_state=0)
    with pytest.raises(ValueError, match=r"component 1 .*increase reg_covar.*scale the data.*fewer components"):
        gm.fit(X)
    X2 = np.c_[X, X]  # collinear columns: the tied covariance is singular
    with pytest.raises(ValueError, match="tied covariance"):
        emkit.GaussianMixture(2, covariance_type="tied", reg_covar=0.0, random_state=0).fit(X2)


def test_max_iter_warns_and_reports_not_converged(faithful):
    gm = emkit.GaussianMixture(3, max_iter=2, tol=1e-12, random_state=0)
    with pytest.warns(emkit.ConvergenceWarning, match="max_iter=2"):
        gm.fit(faithful)
    assert gm.converged_ is False and gm.n_iter_ == 2


def _loops_in(func):
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While, ast.comprehension))]


@pytest.mark.parametrize(
    "func",
    [gaussian_module.GaussianFamily.log_prob_cached, gaussian_module.GaussianFamily.suff_stats,
     gaussian_module.GaussianFamily.m_step, em_module.e_step_chunk, em_module.maximization,
     em_module.normalize_log],
)
def test_no_python_loop_in_e_or_m_step(func):
    assert _loops_in(func) == []


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0]]), r"NaN .*row 1, column 0"),
        (np.array([[1.0, 2.0], [0.0, 1.0], [3.0, np.inf]]), r"inf .*row 2, column 1"),
        (np.empty((0, 2)), "0 sample"),
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array"),
        (np.array([[1.0, 2.0]]), "1 sample"),
    ],
)
def test_bad_X(X, match):
    with pytest.raises(ValueError, match=match):
        emkit.GaussianMixture(1).fit(X)


def test_more_components_than_samples():
    with pytest.raises(ValueError, match=r"n_components=5 is larger than the number of samples \(3\)"):
        emkit.GaussianMixture(5).fit(np.arange(6.0).reshape(3, 2))


def test_wrong_number_of_features_at_predict(faithful):
    gm = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        gm.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"NaN .*row 0, column 1"):
        gm.score_samples(np.array([[1.0, np.nan]]))


@pytest.mark.parametrize(
    "w, match",
    [
        (-np.ones(272), "non-negative; row 0 has weight -1"),
        (np.r_[np.nan, np.ones(271)], "NaN at row 0"),
        (np.ones(5), r"shape \(5,\), but X has 272 rows"),
        (np.zeros(272), "zero for every row"),
    ],
)
def test_bad_sample_weight(faithful, w, match):
    with pytest.raises(ValueError, match=match):
        emkit.GaussianMixture(2).fit(faithful, sample_weight=w)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"covariance_type": "bogus"}, "covariance_type must be one of .*'full'.*got 'bogus'"),
        ({"init_params": "nope"}, "init_params must be one of .*got 'nope'"),
        ({"n_components": 0}, "n_components must be an integer >= 1, got 0"),
        ({"tol": -1.0}, "tol must be a finite number >= 0, got -1.0"),
        ({"reg_covar": -1e-3}, "reg_covar must be a finite number >= 0"),
        ({"max_iter": 1.5}, "max_iter must be an integer >= 0, got 1.5"),
        ({"n_init": 0}, "n_init must be an integer >= 1, got 0"),
        ({"fixed": ("means", "rates")}, "fixed contains 'rates'"),
        ({"acceleration": "warp"}, "acceleration must be one of .*got 'warp'"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1, got 0"),
        ({"weights_init": [0.2, 0.2]}, "weights_init must sum to 1, but sums to 0.4"),
        ({"weights_init": [0.5, 0.25, 0.25]}, r"weights_init has shape \(3,\), but n_components=2"),
        ({"weights_init": [1.5, -0.5]}, r"weights_init must lie in \[0, 1\]"),
        ({"means_init": np.zeros((3, 2))}, r"means_init has shape \(3, 2\), but n_components=2 with 2 features needs shape \(2, 2\)"),
        ({"precisions_init": np.ones((2, 3, 3))}, r"precisions_init has shape \(2, 3, 3\).*needs shape \(2, 2, 2\)"),
        ({"precisions_init": np.array([[[1.0, 2.0], [2.0, 1.0]], np.eye(2)])}, r"precisions_init\[0\] is not positive definite"),
        ({"precisions_init": np.array([[[1.0, 0.5], [0.0, 1.0]], np.eye(2)])}, r"precisions_init\[0\] is not symmetric"),
        ({"covariance_type": "diag", "precisions_init": np.array([[1.0, -1.0], [1.0, 1.0]])}, r"precisions_init must be positive; precisions_init\[0, 1\] = -1"),
    ],
)
def test_bad_parameters(faithful, params, match):
    gm = emkit.GaussianMixture(2).set_params(**params)
    with pytest.raises(ValueError, match=match):
        gm.fit(faithful)


def test_methods_before_fit_raise_not_fitted(faithful):
    gm = emkit.GaussianMixture(2)
    for call in (gm.predict, gm.predict_proba, gm.score_samples, gm.score, gm.bic, gm.aic,
                 gm.component_log_densities):
        with pytest.raises(NotFittedError):
            call(faithful)
    with pytest.raises(NotFittedError):
        gm.sample(3)


def test_no_fitted_attribute_is_nan_with_an_empty_component():
    # a component started far from every row ends with (almost) no weight
    X = np.random.default_rng(0).normal(size=(100, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = emkit.GaussianMixture(2, means_init=[[0, 0], [1e4, 1e4]], precisions_init=np.broadcast_to(np.eye(2), (2, 2, 2)),
                                   weights_init=[0.5, 0.5], max_iter=5).fit(X)
    for name in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "history_"]:
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert gm.weights_[1] < 1e-10


def test_memory_mapped_input_fits_like_in_memory(tmp_path):
    rng = np.random.default_rng(5)
    X = np.r_[rng.normal(0, 1, (3000, 3)), rng.normal(4, 1, (2000, 3))]
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    kw = dict(covariance_type="full", random_state=0, tol=1e-10, chunk_size=700)
    a = emkit.GaussianMixture(2, **kw).fit(mm)
    b = emkit.GaussianMixture(2, **kw).fit(X)
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-12 * abs(b.lower_bound_)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
