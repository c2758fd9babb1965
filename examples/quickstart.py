"""Fit a Gaussian mixture to the bundled Old Faithful data and print it."""

import numpy as np

import emkit
from emkit.datasets import load_faithful

X = load_faithful()
gm = emkit.GaussianMixture(n_components=2, n_init=3, random_state=0).fit(X)
np.set_printoptions(precision=4, suppress=True)
print("weights:", gm.weights_)
print("means:\n", gm.means_)
print("converged:", gm.converged_, "after", gm.n_iter_, "iterations")
print("mean log-likelihood:", round(gm.lower_bound_, 6), " BIC:", round(gm.bic(X), 3))
