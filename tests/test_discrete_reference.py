"""Reference cases 4 and 5 (the coin problems of Do & Batzoglou, 2008)."""

import numpy as np
import pytest
from scipy.stats import binom
from sklearn.exceptions import ConvergenceWarning

import emkit

HEADS = np.array([[5], [9], [8], [4], [7]])


def _one_em_step(pA, pB, wA, fix_weights):
    """One EM step of the coin problem written out by hand with scipy.stats."""
    la = wA * binom.pmf(HEADS[:, 0], 10, pA)
    lb = (1 - wA) * binom.pmf(HEADS[:, 0], 10, pB)
    ra = la / (la + lb)
    rb = 1 - ra
    pA = (ra * HEADS[:, 0]).sum() / (10 * ra.sum())
    pB = (rb * HEADS[:, 0]).sum() / (10 * rb.sum())
    if not fix_weights:
        wA = ra.mean()
    return pA, pB, wA


def test_two_coins_after_exactly_ten_iterations():
    bm = emkit.BinomialMixture(
        2, n_trials=10, fixed=("weights",), weights_init=[0.5, 0.5],
        probs_init=[[0.6], [0.5]], max_iter=10, tol=0, acceleration=None,  # ten plain EM steps
    )
    with pytest.warns(ConvergenceWarning, match="did not converge within max_iter=10"):
        bm.fit(HEADS)
    assert bm.n_iter_ == 10
    assert bm.history_.shape == (10,)
    assert round(bm.probs_[0, 0], 4) == 0.7967
    assert round(bm.probs_[1, 0], 4) == 0.5197
    np.testing.assert_array_equal(bm.weights_, [0.5, 0.5])
    # the same ten steps written out independently
    pA, pB, wA = 0.6, 0.5, 0.5
    for _ in range(10):
        pA, pB, wA = _one_em_step(pA, pB, wA, fix_weights=True)
    np.testing.assert_allclose(bm.probs_.ravel(), [pA, pB], rtol=1e-12)


def test_two_coins_converged():
    bm = emkit.BinomialMixture(
        2, n_trials=10, fixed=("weights",), weights_init=[0.5, 0.5],
        probs_init=[[0.6], [0.5]], max_iter=10_000, tol=1e-14,
    ).fit(HEADS)
    assert bm.converged_
    np.testing.assert_allclose(bm.probs_.ravel(), [0.79679, 0.51958], atol=5e-6)
    # held weights are not free parameters: 2 probabilities only
    n = HEADS.shape[0]
    assert bm.bic(HEADS) == pytest.approx(-2 * bm.score(HEADS) * n + 2 * np.log(n), rel=1e-12)


def test_three_coins_converged_with_total_log_likelihood():
    bm = emkit.BinomialMixture(
        2, n_trials=10, weights_init=[0.6, 0.4], probs_init=[[0.5], [0.8]],
        max_iter=10_000, tol=1e-14,
    ).fit(HEADS)
    assert bm.converged_
    np.testing.assert_allclose(bm.probs_.ravel(), [0.51392, 0.79337], atol=5e-6)
    assert bm.weights_[0] == pytest.approx(0.47725, abs=5e-6)
    total = bm.score(HEADS) * HEADS.shape[0]
    assert total == pytest.approx(-9.79542, abs=5e-6)
    # the total log-likelihood recomputed with scipy from the fitted parameters
    mix = bm.weights_ @ binom.pmf(HEADS[:, 0][None, :], 10, bm.probs_[:, :1])
    assert total == pytest.approx(np.log(mix).sum(), rel=1e-12)
    assert bm.lower_bound_ * HEADS.shape[0] == pytest.approx(total, rel=1e-12)


def test_three_coins_trials_as_keyword_give_the_same_fit():
    kw = dict(weights_init=[0.6, 0.4], probs_init=[[0.5], [0.8]], max_iter=10_000, tol=1e-14)
    a = emkit.BinomialMixture(2, n_trials=10, **kw).fit(HEADS)
    b = emkit.BinomialMixture(2, **kw).fit(HEADS, n_trials=np.full(5, 10))
    c = emkit.BinomialMixture(2, **kw).fit(HEADS, n_trials=np.full((5, 1), 10))
    for other in (b, c):
        np.testing.assert_array_equal(other.probs_, a.probs_)
        np.testing.assert_array_equal(other.history_, a.history_)
    assert b.score(HEADS, n_trials=10) == a.score(HEADS)
