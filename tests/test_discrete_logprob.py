"""Log-probabilities of the discrete families against scipy.stats and by enumeration."""

import itertools

import numpy as np
import pytest
from _discrete_helpers import known_model
from scipy.special import logsumexp
from scipy.stats import bernoulli, binom, multinomial, poisson

import emkit
from emkit.families import BernoulliFamily, BinomialFamily, CategoricalFamily, PoissonFamily
from emkit.families._numerics import LOG_FLOOR

RNG = np.random.default_rng(12345)


def _check_mixture(est, X, comp_ref, fit_kwargs=None):
    """component_log_densities and score_samples against a reference (n, K) array."""
    kw = fit_kwargs or {}
    np.testing.assert_allclose(est.component_log_densities(X, **kw), comp_ref, rtol=1e-12, atol=1e-12)
    mix_ref = logsumexp(comp_ref + np.log(est.weights_), axis=1)
    np.testing.assert_allclose(est.score_samples(X, **kw), mix_ref, rtol=1e-12, atol=1e-12)
    resp_ref = np.exp(comp_ref + np.log(est.weights_) - mix_ref[:, None])
    np.testing.assert_allclose(est.predict_proba(X, **kw), resp_ref, rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ scipy.stats
def test_bernoulli_against_scipy():
    K, d, n = 3, 5, 40
    probs = RNG.uniform(0.02, 0.98, size=(K, d))
    X = RNG.integers(0, 2, size=(n, d))
    est = known_model(emkit.BernoulliMixture, [0.2, 0.5, 0.3], probs, X)
    ref = np.stack([bernoulli.logpmf(X, probs[k]).sum(axis=1) for k in range(K)], axis=1)
    _check_mixture(est, X, ref)


@pytest.mark.parametrize("trials_kind", ["int", "per_row", "per_cell"])
def test_binomial_against_scipy(trials_kind):
    K, d, n = 2, 3, 50
    probs = RNG.uniform(0.05, 0.95, size=(K, d))
    if trials_kind == "int":
        N = np.full((n, d), 12)
        ctor, kw = {"n_trials": 12}, {}
    elif trials_kind == "per_row":
        N = np.repeat(RNG.integers(0, 30, size=n)[:, None], d, axis=1)
        ctor, kw = {}, {"n_trials": N[:, 0]}
    else:
        N = RNG.integers(0, 30, size=(n, d))
        ctor, kw = {}, {"n_trials": N}
    X = RNG.binomial(N, 0.4)
    est = known_model(emkit.BinomialMixture, [0.35, 0.65], probs, X, fit_kwargs=kw, **ctor)
    ref = np.stack([binom.logpmf(X, N, probs[k]).sum(axis=1) for k in range(K)], axis=1)
    _check_mixture(est, X, ref, kw)


def test_poisson_against_scipy():
    K, d, n = 3, 4, 60
    rates = RNG.uniform(0.1, 40.0, size=(K, d))
    X = RNG.poisson(10.0, size=(n, d))
    est = known_model(emkit.PoissonMixture, [0.3, 0.3, 0.4], rates, X)
    ref = np.stack([poisson.logpmf(X, rates[k]).sum(axis=1) for k in range(K)], axis=1)
    _check_mixture(est, X, ref)


def test_categorical_against_scipy_multinomial():
    K, d, C, n = 3, 4, 5, 60
    probs = RNG.dirichlet(np.ones(C), size=(K, d))
    X = RNG.integers(0, C, size=(n, d))
    X[0] = C - 1  # make sure the largest code is present
    est = known_model(emkit.CategoricalMixture, [0.5, 0.25, 0.25], probs, X)
    assert est.n_categories_ == C
    eye = np.eye(C)
    # a categorical draw is a multinomial draw with one trial
    ref = np.stack(
        [sum(multinomial.logpmf(eye[X[:, j]], 1, probs[k, j]) for j in range(d)) for k in range(K)],
        axis=1,
    )
    _check_mixture(est, X, ref)
    # and by plain indexing
    ref2 = np.log(probs[:, np.arange(d), X]).sum(axis=2).T
    np.testing.assert_allclose(ref, ref2, rtol=1e-12)


# ------------------------------------------------------ pmf sums to one
def _enumerate(support_sizes):
    return np.array(list(itertools.product(*[range(s) for s in support_sizes])))


def _assert_sums_to_one(est, X, **kw):
    comp = np.exp(est.component_log_densities(X, **kw))
    np.testing.assert_allclose(comp.sum(axis=0), 1.0, rtol=1e-12)
    assert np.exp(est.score_samples(X, **kw)).sum() == pytest.approx(1.0, rel=1e-12)


def test_bernoulli_pmf_sums_to_one():
    X = _enumerate([2, 2, 2, 2])
    probs = RNG.uniform(size=(2, 4))
    _assert_sums_to_one(known_model(emkit.BernoulliMixture, [0.3, 0.7], probs, X), X)


def test_binomial_pmf_sums_to_one_with_per_feature_trials():
    X = _enumerate([4, 7])  # trials 3 and 6
    N = np.tile([3, 6], (X.shape[0], 1))
    probs = RNG.uniform(size=(3, 2))
    est = known_model(emkit.BinomialMixture, [0.2, 0.3, 0.5], probs, X, fit_kwargs={"n_trials": N})
    _assert_sums_to_one(est, X, n_trials=N)


def test_poisson_pmf_sums_to_one_over_a_truncated_support():
    X = _enumerate([60, 60])  # tail mass beyond 59 is below 1e-30 for rates <= 3
    rates = RNG.uniform(0.1, 3.0, size=(2, 2))
    _assert_sums_to_one(known_model(emkit.PoissonMixture, [0.6, 0.4], rates, X), X)


def test_categorical_pmf_sums_to_one():
    X = _enumerate([3, 3, 3])
    probs = RNG.dirichlet(np.ones(3), size=(2, 3))
    _assert_sums_to_one(known_model(emkit.CategoricalMixture, [0.5, 0.5], probs, X), X)


# ------------------------------------------------------------- boundaries
def test_bernoulli_probabilities_zero_and_one_stay_finite():
    probs = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]])
    X = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    est = known_model(emkit.BernoulliMixture, [0.5, 0.5], probs, X)
    lp = est.component_log_densities(X)
    assert np.all(np.isfinite(lp)) and np.all(np.isfinite(est.score_samples(X)))
    # possible rows are exact: log(0.5), impossible ones sit at the documented floor
    assert lp[0, 0] == np.log(0.5) and lp[1, 1] == np.log(0.5)
    assert lp[0, 1] == pytest.approx(2 * LOG_FLOOR + np.log(0.5), rel=1e-12)
    assert lp[2, 0] == pytest.approx(LOG_FLOOR + np.log(0.5), rel=1e-12)
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)


def test_binomial_probabilities_zero_and_one_stay_finite():
    probs = np.array([[0.0], [1.0]])
    X = np.array([[0], [10], [3]])
    est = known_model(emkit.BinomialMixture, [0.5, 0.5], probs, X, n_trials=10)
    lp = est.component_log_densities(X)
    assert np.all(np.isfinite(lp))
    assert lp[0, 0] == 0.0 and lp[1, 1] == 0.0
    ref = binom.logpmf(3, 10, 0.5)  # sanity: finite scores, ordered sensibly
    assert lp[2, 0] < ref and lp[2, 1] < ref


def test_poisson_rate_zero_stays_finite():
    rates = np.array([[0.0, 2.0], [3.0, 0.0]])
    X = np.array([[0, 1], [4, 0], [2, 2]])
    est = known_model(emkit.PoissonMixture, [0.5, 0.5], rates, X)
    lp = est.component_log_densities(X)
    assert np.all(np.isfinite(lp))
    assert lp[0, 0] == pytest.approx(poisson.logpmf(1, 2.0), rel=1e-12)
    assert lp[1, 1] == pytest.approx(poisson.logpmf(4, 3.0), rel=1e-12)
    # x = 2 at rate 0: 2 * floor - log(2!), plus the second feature's exact term
    assert lp[2, 0] == pytest.approx(2 * LOG_FLOOR - np.log(2) + poisson.logpmf(2, 2.0), rel=1e-12)


def test_categorical_probability_zero_stays_finite():
    probs = np.array([[[1.0, 0.0, 0.0]], [[0.0, 0.5, 0.5]]])
    X = np.array([[0], [2]])
    est = known_model(emkit.CategoricalMixture, [0.5, 0.5], probs, X)
    lp = est.component_log_densities(X)
    assert np.all(np.isfinite(lp))
    assert lp[0, 0] == 0.0 and lp[1, 1] == np.log(0.5)
    assert lp[0, 1] == LOG_FLOOR


def _two_blocks(a, b, n=30):
    return np.r_[np.tile(a, (n, 1)), np.tile(b, (n, 1))]


@pytest.mark.parametrize(
    "cls,X,X_new",
    [
        (emkit.BernoulliMixture, _two_blocks([0, 0, 0, 1], [1, 1, 1, 1]), [[1, 0, 1, 0], [0, 1, 0, 1]]),
        (emkit.PoissonMixture, _two_blocks([0, 0, 0], [6, 8, 0]), [[1, 0, 3], [6, 0, 1]]),
        (emkit.CategoricalMixture, _two_blocks([0, 0, 1], [2, 2, 1]), [[1, 0, 0], [0, 2, 2]]),
    ],
)
def test_fit_reaching_the_boundary_scores_new_rows_finitely(cls, X, X_new):
    est = cls(2, random_state=0, tol=1e-10, max_iter=1000).fit(X)
    params = est.rates_ if cls is emkit.PoissonMixture else est.probs_
    # a feature constant in the data gets an estimate exactly on the boundary,
    # the separated ones converge to it
    dist = params if cls is emkit.PoissonMixture else np.minimum(params, 1.0 - params)
    assert np.any(dist == 0.0)
    assert np.sum(dist < 1e-12) >= 3
    assert np.all(np.isfinite(est.score_samples(X_new)))
    resp = est.predict_proba(X_new)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)


def test_binomial_fit_reaching_the_boundary_scores_new_rows_finitely():
    X = np.r_[np.zeros(20), np.full(20, 5)][:, None]
    est = emkit.BinomialMixture(2, n_trials=5, random_state=0, tol=1e-10, max_iter=1000).fit(X)
    np.testing.assert_allclose(np.sort(est.probs_.ravel()), [0.0, 1.0], atol=1e-12)
    assert np.all(np.isfinite(est.score_samples([[2], [0], [5]])))


# ------------------------------------------------------ acceleration hooks
@pytest.mark.parametrize(
    "family,name,value",
    [
        (BernoulliFamily(), "probs", RNG.uniform(0.01, 0.99, (3, 4))),
        (BinomialFamily(), "probs", RNG.uniform(0.01, 0.99, (3, 4))),
        (PoissonFamily(), "rates", RNG.uniform(0.01, 50.0, (3, 4))),
        (CategoricalFamily(5), "probs", RNG.dirichlet(np.ones(5), size=(3, 4))),
    ],
)
def test_unconstrained_round_trip(family, name, value):
    params = {name: value}
    theta = family.to_unconstrained(params, frozenset())
    assert all(np.all(np.isfinite(t)) for t in theta.values())
    back = family.from_unconstrained(theta, params, frozenset())
    np.testing.assert_allclose(back[name], value, rtol=1e-12)
    # boundary values map to finite coordinates and back into the support
    edge = value.copy()
    edge.flat[0] = 0.0
    if name == "probs" and family.name != "categorical":
        edge.flat[1] = 1.0
    theta = family.to_unconstrained({name: edge}, frozenset())
    assert all(np.all(np.isfinite(t)) for t in theta.values())
    back = family.from_unconstrained(theta, {name: edge}, frozenset())[name]
    assert np.all(back >= 0) and (name == "rates" or np.all(back <= 1))
    if family.name == "categorical":
        np.testing.assert_allclose(back.sum(axis=2), 1.0, rtol=1e-12)
    # the engine, not the family, holds fixed parameters: after the map back they
    # are the held values whatever the coordinates say
    from emkit.engine.em import hold_fixed

    moved = {k: v + 0.1 * np.arange(v.size).reshape(v.shape)
             for k, v in family.to_unconstrained(params, frozenset()).items()}
    back = family.from_unconstrained(moved, params, frozenset({name}))
    assert not np.allclose(back[name], value)
    kept = hold_fixed(family, dict(back), params, frozenset({name}))[name]
    np.testing.assert_array_equal(kept, value)


# ------------------------------------------------------- parameter counts
@pytest.mark.parametrize(
    "cls,param,expected",
    [
        (emkit.BernoulliMixture, np.full((2, 3), 0.5), 2 * 3 + 1),
        (emkit.PoissonMixture, np.full((2, 3), 2.0), 2 * 3 + 1),
        (emkit.CategoricalMixture, np.full((2, 3, 4), 0.25), 2 * 3 * 3 + 1),
    ],
)
def test_bic_and_aic_count_free_parameters(cls, param, expected):
    X = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    if cls is emkit.CategoricalMixture:
        X = X + 2
    est = known_model(cls, [0.4, 0.6], param, X)
    loglik = est.score(X) * X.shape[0]
    # with everything fixed no parameter is free
    assert est.bic(X) == pytest.approx(-2 * loglik, rel=1e-12)
    name = "rates" if cls is emkit.PoissonMixture else "probs"
    est.set_params(fixed=())
    assert est.bic(X) == pytest.approx(-2 * loglik + expected * np.log(4), rel=1e-12)
    assert est.aic(X) == pytest.approx(-2 * loglik + 2 * expected, rel=1e-12)
    est.set_params(fixed=(name,))
    assert est.aic(X) == pytest.approx(-2 * loglik + 2, rel=1e-12)


def test_families_without_precomputed_base_measure_agree_with_scipy():
    # the estimators pass log C(n, x) / -log x! in aux; called bare, the families compute it
    X = RNG.integers(0, 9, size=(30, 3))
    N = X + RNG.integers(0, 5, size=(30, 3))
    probs = RNG.uniform(0.05, 0.95, size=(2, 3))
    lp = BinomialFamily().log_prob(X, {"probs": probs}, {"n_trials": N})
    ref = np.stack([binom.logpmf(X, N, probs[k]).sum(axis=1) for k in range(2)], axis=1)
    np.testing.assert_allclose(lp, ref, rtol=1e-12)
    rates = RNG.uniform(0.5, 10.0, size=(2, 3))
    lp = PoissonFamily().log_prob(X, {"rates": rates}, {})
    ref = np.stack([poisson.logpmf(X, rates[k]).sum(axis=1) for k in range(2)], axis=1)
    np.testing.assert_allclose(lp, ref, rtol=1e-12)
