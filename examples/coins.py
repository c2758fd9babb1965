"""The two-coin and three-coin problems (Do & Batzoglou, Nature Biotechnology 26:897, 2008).

Five sets of ten tosses, heads per set 5, 9, 8, 4, 7.

Two coins: each set came from coin A or B with equal, known chance (weights held
at 0.5).  From P(heads | A) = 0.6, P(heads | B) = 0.5, ten EM iterations give
0.7967 and 0.5197 (the paper's 0.80 and 0.52); converged: 0.79679 and 0.51958.

Three coins: coin C picks A or B, then ten tosses; P(heads | A), P(heads | B) and
the chance that C picks A are all estimated.  From 0.5, 0.8 and 0.6: converged at
0.51392, 0.79337, 0.47725 with total log-likelihood -9.79542 (binomial
probabilities with their coefficients).

    python examples/coins.py
"""

import warnings

import numpy as np

import emkit
from _common import options

args = options(__doc__.splitlines()[0])
heads = np.array([[5], [9], [8], [4], [7]])       # one row per set of ten tosses

print("two coins, weights held at 0.5, plain EM:")
for n_iter in range(1, 11):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # stopping after n_iter steps is the point
        two = emkit.BinomialMixture(2, n_trials=10, probs_init=[[0.6], [0.5]],
                                    weights_init=[0.5, 0.5], fixed=("weights",),
                                    acceleration=None, max_iter=n_iter).fit(heads)
    print(f"  iteration {n_iter:2d}: P(heads | A) = {two.probs_[0, 0]:.4f}, "
          f"P(heads | B) = {two.probs_[1, 0]:.4f}")
two = emkit.BinomialMixture(2, n_trials=10, probs_init=[[0.6], [0.5]], weights_init=[0.5, 0.5],
                            fixed=("weights",), tol=1e-12).fit(heads)
print(f"  converged: P(heads | A) = {two.probs_[0, 0]:.5f}, P(heads | B) = {two.probs_[1, 0]:.5f}")
print("  which coin for each set (P(A)):", np.round(two.predict_proba(heads)[:, 0], 3))

three = emkit.BinomialMixture(2, n_trials=10, probs_init=[[0.5], [0.8]], weights_init=[0.6, 0.4],
                              tol=1e-12).fit(heads)
print("three coins, everything estimated:")
print(f"  P(heads | A) = {three.probs_[0, 0]:.5f}, P(heads | B) = {three.probs_[1, 0]:.5f}, "
      f"P(C picks A) = {three.weights_[0]:.5f}")
print(f"  total log-likelihood {three.score(heads) * len(heads):.5f}")
