"""Fitting the discrete mixtures: recovery, monotone EM, chunking, weights, options."""

import warnings

import numpy as np
import pytest
from _discrete_helpers import best_permutation, known_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import emkit

# ------------------------------------------------------------------ recovery
TRUE_WEIGHTS = np.array([0.3, 0.45, 0.25])
TRUE_PROBS = np.array(
    [[0.9, 0.8, 0.1, 0.2, 0.7, 0.5], [0.1, 0.3, 0.9, 0.8, 0.2, 0.5], [0.5, 0.9, 0.5, 0.1, 0.9, 0.05]]
)
TRUE_RATES = np.array([[1.0, 10.0, 0.5], [6.0, 2.0, 4.0], [20.0, 15.0, 0.0]])
TRUE_CAT = np.array(
    [
        [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25], [0.8, 0.2, 0.0, 0.0]],
        [[0.1, 0.1, 0.1, 0.7], [0.1, 0.1, 0.7, 0.1], [0.4, 0.3, 0.2, 0.1], [0.0, 0.1, 0.1, 0.8]],
        [[0.1, 0.7, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.8, 0.1, 0.0]],
    ]
)

RECOVERY = [
    (emkit.BernoulliMixture, TRUE_PROBS, {}, {}, 6000, 0.04),
    (emkit.BinomialMixture, TRUE_PROBS, {"n_trials": 8}, {}, 3000, 0.02),
    (emkit.PoissonMixture, TRUE_RATES, {}, {}, 3000, 0.5),
    (emkit.CategoricalMixture, TRUE_CAT, {}, {}, 4000, 0.04),
]


@pytest.mark.parametrize("cls,param,ctor,sample_kw,n,atol", RECOVERY, ids=lambda v: getattr(v, "__name__", None))
def test_recovery_from_samples(cls, param, ctor, sample_kw, n, atol):
    # a model with the true parameters draws the data ...
    X_seed = np.zeros((4, param.shape[1]), dtype=int)
    truth = known_model(cls, TRUE_WEIGHTS, param, X_seed, random_state=7, **ctor)
    X, y = truth.sample(n, **sample_kw)
    assert X.shape == (n, param.shape[1]) and np.issubdtype(X.dtype, np.integer)
    np.testing.assert_allclose(np.bincount(y, minlength=3) / n, TRUE_WEIGHTS, atol=0.03)
    # ... and a fresh fit finds them again, up to the order of the components
    est = cls(3, n_init=3, random_state=0, tol=1e-8, max_iter=1000, **ctor).fit(X)
    assert est.converged_
    name = "rates_" if cls is emkit.PoissonMixture else "probs_"
    fitted = getattr(est, name)
    perm = list(best_permutation(fitted, param))
    np.testing.assert_allclose(fitted[perm], param, atol=atol)
    np.testing.assert_allclose(est.weights_[perm], TRUE_WEIGHTS, atol=0.03)
    # labels agree with the drawn components for almost every row
    assert np.mean(np.argsort(perm)[est.predict(X)] == y) > 0.8


def test_binomial_recovery_with_trials_per_row():
    rng = np.random.default_rng(3)
    n = 3000
    N = rng.integers(1, 25, size=n)
    truth = known_model(emkit.BinomialMixture, TRUE_WEIGHTS, TRUE_PROBS, np.zeros((3, 6), int), n_trials=1,
                        random_state=3)
    X, y = truth.sample(n, n_trials=N)
    assert np.all(X <= N[:, None])
    est = emkit.BinomialMixture(3, n_init=3, random_state=0, tol=1e-8, max_iter=1000).fit(X, n_trials=N)
    perm = list(best_permutation(est.probs_, TRUE_PROBS))
    np.testing.assert_allclose(est.probs_[perm], TRUE_PROBS, atol=0.03)
    np.testing.assert_allclose(est.weights_[perm], TRUE_WEIGHTS, atol=0.03)


# ---------------------------------------------- property: monotone, chunked
def _draw(family, rng, n, d, K):
    if family == "bernoulli":
        return emkit.BernoulliMixture, rng.integers(0, 2, size=(n, d)), {}, {}
    if family == "binomial":
        N = rng.integers(0, 12, size=(n, d))
        return emkit.BinomialMixture, rng.binomial(N, rng.uniform(size=(n, 1))), {}, {"n_trials": N}
    if family == "poisson":
        return emkit.PoissonMixture, rng.poisson(rng.choice([0.0, 1.0, 6.0], size=(n, 1)), size=(n, d)), {}, {}
    return emkit.CategoricalMixture, rng.integers(0, 4, size=(n, d)), {"n_categories": 5}, {}


def _fit_recording(est, X, **kw):
    """Fit; an unconverged run must be announced by a ConvergenceWarning and nothing else."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, **kw)
    kinds = {type(w.message) for w in caught}
    assert kinds <= {ConvergenceWarning}
    assert (ConvergenceWarning in kinds) == (not est.converged_)
    return est


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["bernoulli", "binomial", "poisson", "categorical"]),
    n=st.integers(6, 60),
    d=st.integers(1, 4),
    K=st.integers(1, 4),
    chunk=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
    weighted=st.booleans(),
)
def test_log_likelihood_never_decreases_and_chunks_do_not_matter(family, n, d, K, chunk, seed, weighted):
    rng = np.random.default_rng(seed)
    cls, X, ctor, fit_kw = _draw(family, rng, n, d, K)
    w = rng.uniform(0.0, 3.0, size=n) if weighted else None
    if w is not None:
        w[: K + 1] += 1.0  # enough rows with positive weight
    # plain EM: SQUAREM step lengths amplify rounding differences between chunkings
    common = dict(init_params="random", random_state=seed % 1000, max_iter=40, tol=1e-12,
                  acceleration=None, **ctor)
    whole = _fit_recording(cls(K, **common), X, sample_weight=w, **fit_kw)
    h = whole.history_
    assert np.all(np.isfinite(h))
    assert np.all(np.diff(h) >= -1e-12 * np.abs(h[1:]))
    chunked = _fit_recording(cls(K, chunk_size=chunk, **common), X, sample_weight=w, **fit_kw)
    assert chunked.n_iter_ == whole.n_iter_
    np.testing.assert_allclose(chunked.history_, h, rtol=1e-10, atol=1e-14)
    name = "rates_" if family == "poisson" else "probs_"
    np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(chunked.weights_, whole.weights_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        chunked.score_samples(X, **fit_kw), whole.score_samples(X, **fit_kw), rtol=1e-10, atol=1e-13
    )


# ----------------------------------------------------- sample weights
@pytest.mark.parametrize("family", ["bernoulli", "binomial", "poisson", "categorical"])
def test_weight_two_equals_a_duplicated_row(family):
    rng = np.random.default_rng(11)
    cls, X, ctor, fit_kw = _draw(family, rng, 30, 3, 2)
    name, init = ("rates", "rates_init") if family == "poisson" else ("probs", "probs_init")
    if family == "poisson":
        start = np.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]])
    elif family == "categorical":
        start = rng.dirichlet(np.ones(5), size=(2, 3))
    else:
        start = np.array([[0.2, 0.4, 0.6], [0.7, 0.5, 0.3]])
    # fifty iterations from the same start; tol=0 so both runs take all of them
    kw = dict(weights_init=[0.4, 0.6], max_iter=50, tol=0, acceleration=None, **{init: start}, **ctor)

    def fit(X, **fkw):
        with pytest.warns(ConvergenceWarning):
            return cls(2, **kw).fit(X, **fkw)

    w = np.ones(30)
    w[4] = 2.0
    weighted = fit(X, sample_weight=w, **fit_kw)
    dup_kw = {k: np.r_[v, v[4:5]] for k, v in fit_kw.items()}
    duplicated = fit(np.r_[X, X[4:5]], **dup_kw)
    np.testing.assert_allclose(getattr(weighted, name + "_"), getattr(duplicated, name + "_"), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(weighted.weights_, duplicated.weights_, rtol=1e-10)
    # mean per-sample log-likelihoods: both are divided by the same total weight, 31
    np.testing.assert_allclose(weighted.history_, duplicated.history_, rtol=1e-10)
    # a zero weight drops the row
    w0 = np.ones(30)
    w0[7] = 0.0
    dropped = fit(X, sample_weight=w0, **fit_kw)
    keep_kw = {k: np.delete(v, 7, axis=0) for k, v in fit_kw.items()}
    removed = fit(np.delete(X, 7, axis=0), **keep_kw)
    np.testing.assert_allclose(getattr(dropped, name + "_"), getattr(removed, name + "_"), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------ options
def test_fixed_family_parameter_stays_put_and_weights_move():
    rng = np.random.default_rng(5)
    X = rng.poisson([[2.0, 9.0]], size=(200, 2))
    rates = np.array([[1.0, 1.0], [10.0, 10.0]])
    est = emkit.PoissonMixture(2, rates_init=rates, fixed=("rates",), tol=1e-15, max_iter=10_000).fit(X)
    np.testing.assert_array_equal(est.rates_, rates)
    assert not np.allclose(est.weights_, 0.5)
    # at the optimum over the weights alone they equal the mean responsibilities
    np.testing.assert_allclose(est.weights_, est.predict_proba(X).mean(axis=0), rtol=1e-7)
    assert est.n_iter_ > 1


@pytest.mark.parametrize("cls", [emkit.BernoulliMixture, emkit.PoissonMixture, emkit.CategoricalMixture])
def test_fit_predict_equals_fit_then_predict(cls):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, size=(80, 4))
    a = cls(3, random_state=4, n_init=2).fit_predict(X)
    b = cls(3, random_state=4, n_init=2).fit(X).predict(X)
    np.testing.assert_array_equal(a, b)


def test_binomial_fit_predict_passes_trials_on():
    rng = np.random.default_rng(2)
    N = rng.integers(5, 15, size=60)
    X = rng.binomial(N, rng.choice([0.2, 0.8], size=60))[:, None]
    labels = emkit.BinomialMixture(2, random_state=0).fit_predict(X, n_trials=N)
    est = emkit.BinomialMixture(2, random_state=0).fit(X, n_trials=N)
    np.testing.assert_array_equal(labels, est.predict(X, n_trials=N))
    n = X.shape[0]
    loglik = est.score(X, n_trials=N) * n
    assert est.bic(X, n_trials=N) == pytest.approx(-2 * loglik + 3 * np.log(n), rel=1e-12)


def test_n_init_keeps_the_best_run():
    rng = np.random.default_rng(9)
    X = (rng.random((300, 6)) < rng.choice([0.15, 0.85], size=(300, 1))).astype(int)
    # plain EM: its callback counts iterations from 1 in every run
    kw = dict(init_params="random", random_state=0, max_iter=500, tol=1e-9, acceleration=None)
    seen = []
    best = emkit.BernoulliMixture(3, n_init=6, **kw).fit(
        X, callback=lambda info: seen.append((info["iteration"], info["log_likelihood"]))
    )
    # the last log-likelihood of every run, split where the iteration count restarts
    finals = [ll for (it, ll), nxt in zip(seen, seen[1:] + [(1, None)], strict=True) if nxt[0] == 1]
    assert len(finals) == 6
    # the best run is kept; runs within 1e-7 relative are the same solution and the earlier wins
    assert best.lower_bound_ in finals
    assert best.lower_bound_ == pytest.approx(max(finals), rel=1e-7)
    # the first run is the run of n_init=1 with the same random_state
    single = emkit.BernoulliMixture(3, **kw).fit(X)
    assert single.lower_bound_ == finals[0]


def test_warm_start_continues_from_the_fitted_parameters():
    rng = np.random.default_rng(8)
    X = rng.integers(0, 3, size=(150, 3))
    # plain EM, so five steps then five more are the first ten of one run
    est = emkit.CategoricalMixture(2, random_state=0, max_iter=5, tol=0, warm_start=True,
                                   acceleration=None, init_params="kmeans")
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    first = est.history_.copy()
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    assert est.history_[0] >= first[-1] - 1e-12
    full = emkit.CategoricalMixture(2, random_state=0, max_iter=10, tol=0, acceleration=None,
                                    init_params="kmeans")
    with pytest.warns(ConvergenceWarning):
        full.fit(X)
    np.testing.assert_allclose(np.r_[first, est.history_], full.history_, rtol=1e-12)


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("cls", [emkit.BernoulliMixture, emkit.PoissonMixture, emkit.CategoricalMixture])
def test_every_init_method_gives_valid_parameters(cls, init):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, size=(50, 3))
    est = cls(2, init_params=init, random_state=0, max_iter=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    params = est.rates_ if cls is emkit.PoissonMixture else est.probs_
    assert np.all(np.isfinite(params)) and np.all(params >= 0)
    if cls is not emkit.PoissonMixture:
        # softened hard labels keep the start inside (0, 1) wherever the data varies
        assert np.all((params > 0) & (params < 1))
    if cls is emkit.CategoricalMixture:
        np.testing.assert_allclose(params.sum(axis=2), 1.0)


def test_squarem_reaches_the_three_coin_optimum_in_fewer_iterations():
    heads = np.array([[5], [9], [8], [4], [7]])
    kw = dict(n_trials=10, weights_init=[0.6, 0.4], probs_init=[[0.5], [0.8]], max_iter=10_000, tol=1e-14)
    plain = emkit.BinomialMixture(2, acceleration=None, **kw).fit(heads)
    fast = emkit.BinomialMixture(2, acceleration="squarem", **kw).fit(heads)
    assert fast.n_iter_ < plain.n_iter_
    np.testing.assert_allclose(fast.probs_, plain.probs_, atol=1e-5)
    assert fast.score(heads) == pytest.approx(plain.score(heads), rel=1e-10)


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "categorical"])
def test_squarem_matches_plain_em(family):
    rng = np.random.default_rng(21)
    lab = rng.integers(0, 2, 400)
    if family == "bernoulli":
        cls, X = emkit.BernoulliMixture, (rng.random((400, 5)) < np.where(lab[:, None] == 0, 0.2, 0.8)).astype(int)
    elif family == "poisson":
        cls, X = emkit.PoissonMixture, rng.poisson(np.where(lab[:, None] == 0, 2.0, 7.0), size=(400, 3))
    else:
        cls, X = emkit.CategoricalMixture, np.where(lab[:, None] == 0, rng.integers(0, 3, (400, 4)), rng.integers(1, 4, (400, 4)))
    plain = cls(2, random_state=0, tol=1e-12, max_iter=5000).fit(X)
    fast = cls(2, random_state=0, tol=1e-12, max_iter=5000, acceleration="squarem").fit(X)
    assert fast.score(X) == pytest.approx(plain.score(X), rel=1e-8)


@pytest.mark.parametrize("cls", [emkit.BernoulliMixture, emkit.BinomialMixture, emkit.PoissonMixture, emkit.CategoricalMixture])
def test_clone_and_params_roundtrip(cls):
    est = cls(3, tol=1e-4, fixed=("weights",), chunk_size=17)
    params = est.get_params()
    assert params["n_components"] == 3 and params["chunk_size"] == 17
    again = clone(est)
    assert again.get_params() == params


def test_categorical_takes_n_categories_from_data_or_constructor():
    X = np.array([[0, 1], [2, 1], [1, 0], [0, 0]])
    est = emkit.CategoricalMixture(2, random_state=0).fit(X)
    assert est.n_categories_ == 3 and est.probs_.shape == (2, 2, 3)
    est = emkit.CategoricalMixture(2, n_categories=5, random_state=0).fit(X)
    assert est.n_categories_ == 5 and est.probs_.shape == (2, 2, 5)
    # unseen categories get probability 0 and score finitely
    np.testing.assert_array_equal(est.probs_[:, :, 3:], 0.0)
    assert np.all(np.isfinite(est.score_samples([[4, 4]])))


def test_binomial_sample_uses_constructor_or_keyword_trials():
    est = known_model(emkit.BinomialMixture, [0.5, 0.5], [[0.5, 0.5], [0.9, 0.1]], np.zeros((3, 2), int),
                      n_trials=6, random_state=0)
    X, _ = est.sample(200)
    assert X.max() <= 6
    N = np.arange(200)[:, None] % 3
    X, _ = est.sample(200, n_trials=N)
    assert np.all(X <= N)
