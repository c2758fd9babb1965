"""MixedMixture at its defaults (tol=1e-9, max_iter=1000, SQUAREM, init_params="auto").

References: flexmix 2.3.18 (fixture made by tests/fixtures/flexmix_mixed/flexmix_fit.R
from the data of make_data.py, next to it) and the plain reference EM of
tests/test_mixed.py, converged from a fixed start.
"""

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import MixedMixture
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.init import initial_resp

from test_mixed import BLOCKS, _mixed_data, _reference_em, _reference_loglik_and_resp, _start

FIXTURE = Path(__file__).parent / "fixtures" / "flexmix_mixed"
LCA_BLOCKS = [("poisson", [0]), ("bernoulli", [1, 2, 3, 4])]


def _flexmix():
    with open(FIXTURE / "data.csv") as fh:
        rows = list(csv.DictReader(fh))
    X = np.array([[float(r[c]) for c in ("cnt", "b1", "b2", "b3", "b4")] for r in rows])
    start = np.array([int(r["start"]) - 1 for r in rows])
    with open(FIXTURE / "result.csv") as fh:
        res = list(csv.DictReader(fh))
    ref = {
        "weights": np.array([float(r["weight"]) for r in res]),
        "rates": np.array([float(r["rate"]) for r in res]),
        "probs": np.array([[float(r[f"p{j}"]) for j in range(1, 5)] for r in res]),
        "loglik": float(res[0]["loglik"]),
    }
    return X, start, ref


def _matched(m, ref):
    """emkit's weights, rates and item probabilities in flexmix's component order."""
    order = [int(np.argmin(np.abs(m.b0_rates_[:, 0] - r))) for r in ref["rates"]]
    assert sorted(order) == [0, 1, 2]
    return m.weights_[order], m.b0_rates_[order, 0], m.b1_probs_[order]


def test_default_fit_reaches_the_flexmix_optimum():
    X, _, ref = _flexmix()
    for seed in (0, 1, None):
        m = MixedMixture(3, blocks=LCA_BLOCKS, random_state=seed).fit(X)
        assert m.converged_
        ll = m.score(X) * X.shape[0]
        assert ll == pytest.approx(ref["loglik"], rel=1e-9, abs=0)
        w, rates, probs = _matched(m, ref)
        np.testing.assert_allclose(w, ref["weights"], atol=2e-5)
        np.testing.assert_allclose(rates, ref["rates"], rtol=2e-5)
        np.testing.assert_allclose(probs, ref["probs"], atol=2e-5)


def _from_flexmix_start(X, start, **kw):
    # flexmix's `cluster=` start is one M-step from the hard partition: the same here
    R = np.eye(3)[start]
    nk = R.sum(axis=0)
    params = {"weights": nk / nk.sum(), "b0_rates": (R.T @ X[:, :1]) / nk[:, None],
              "b1_probs": (R.T @ X[:, 1:]) / nk[:, None]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        m = MixedMixture(3, blocks=LCA_BLOCKS, random_state=0, max_iter=1).fit(X)
        m.set_params(warm_start=True, **kw)
        m._store_params(params)
        return m.fit(X)


def test_same_start_and_iterations_as_flexmix_give_its_iterate():
    # flexmix reports 50 iterations at its tolerance; its final iterate is emkit's 49th EM step
    X, start, ref = _flexmix()
    m = _from_flexmix_start(X, start, max_iter=49, tol=0.0, acceleration=None)
    assert m.score(X) * X.shape[0] == pytest.approx(ref["loglik"], rel=1e-13, abs=0)
    w, rates, probs = _matched(m, ref)
    np.testing.assert_allclose(w, ref["weights"], atol=1e-7)
    # flexmix's Poisson rate comes out of glm's IRLS (its own tolerance, 1e-8 on the deviance)
    np.testing.assert_allclose(rates, ref["rates"], rtol=5e-7)
    np.testing.assert_allclose(probs, ref["probs"], atol=1e-7)


@pytest.mark.parametrize("acceleration", [None, "squarem"])
def test_same_start_as_flexmix_at_default_settings(acceleration):
    X, start, ref = _flexmix()
    m = _from_flexmix_start(X, start, acceleration=acceleration, max_iter=1000)
    assert m.get_params()["tol"] == 1e-9
    assert m.converged_
    # tol=1e-9 bounds the remaining gain of the mean log-likelihood: 1e-6 in total here
    assert m.score(X) * X.shape[0] == pytest.approx(ref["loglik"], rel=0, abs=1e-6)
    w, rates, probs = _matched(m, ref)
    np.testing.assert_allclose(w, ref["weights"], atol=5e-5)
    np.testing.assert_allclose(rates, ref["rates"], rtol=5e-5)
    np.testing.assert_allclose(probs, ref["probs"], atol=5e-5)


def test_default_fit_reaches_the_reference_em_optimum():
    # Gaussian (full, reg_covar=0) x categorical x Poisson: the plain EM of test_mixed.py run
    # to convergence from a rough start; a default fit, seeded or not, reaches the same value
    X, _ = _mixed_data()
    ref = _reference_em(X, _start(X), 600)
    ll_ref, _ = _reference_loglik_and_resp(X, ref)
    for seed in (0, 3, None):
        m = MixedMixture(3, blocks=BLOCKS, random_state=seed).fit(X)
        assert m.converged_ and not m.degenerate_components_
        assert m.score(X) * X.shape[0] == pytest.approx(ll_ref, rel=1e-10, abs=0)
        order = [int(np.argmin(np.abs(m.b2_rates_[:, 0] - r))) for r in ref["rate"]]
        np.testing.assert_allclose(m.b0_means_[order], ref["mu"], atol=1e-5)
        np.testing.assert_allclose(m.weights_[order], ref["weights"], atol=1e-6)


def test_defaults_are_the_engine_defaults():
    p = MixedMixture().get_params()
    gm = emkit.GaussianMixture().get_params()
    for key in ("tol", "max_iter", "init_params", "acceleration", "n_init"):
        assert p[key] == gm[key], key


def test_start_coordinates_are_standardised_columns_with_missing_at_the_mean():
    # the lazy chunk-wise start equals k-means on the dense standardised table
    X, _ = _mixed_data(700)
    X[::7, 3] = np.nan
    X[::11, :2] = np.nan
    blocks = [("gaussian", [0, 1]), ("categorical", [2]), ("poisson", [3])]
    m = MixedMixture(3, blocks=blocks, missing="marginalize")
    m.n_features_in_ = 4
    family, _ = m._configured_family().prepare(Data(X, np.ones(700)), NumpyBackend())
    tf = family.start_transform()
    mean, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    Z = np.nan_to_num((X - mean) / sd, nan=0.0)
    np.testing.assert_allclose(tf(X), Z, rtol=1e-12, atol=1e-12)
    for method in ("kmeans", "k-means++", "random_from_data"):
        dense = initial_resp(method, Data(Z, np.ones(700)), 3, np.random.RandomState(5), NumpyBackend())
        lazy = initial_resp(method, Data(X, np.ones(700)), 3, np.random.RandomState(5),
                            NumpyBackend(64), transform=tf)
        np.testing.assert_array_equal(lazy, dense)


def _fit_peak(n, K):
    import tracemalloc

    rng = np.random.default_rng(0)
    z = rng.integers(0, 8, n)
    X = np.c_[rng.normal(z * 4.0, 1.0), rng.poisson(z + 1.0)].astype(float)
    X[::5, 0] = np.nan
    m = MixedMixture(K, blocks=[("gaussian", [0]), ("poisson", [1])], missing="marginalize",
                     max_iter=1, chunk_size=2000, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            m.fit(X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_initialisation_never_builds_n_by_k_responsibilities():
    # doubling the rows may add O(n) vectors, never an (n, K) array (n * K * 8 bytes)
    n, K = 100_000, 32
    extra = _fit_peak(2 * n, K) - _fit_peak(n, K)
    assert extra < 0.25 * n * K * 8, extra
