"""emEM's finalists settle on the subsample; only the winner runs on all rows (large data)."""

from __future__ import annotations

import numpy as np

import emkit
import emkit.engine.starts as starts
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.families.gaussian import GaussianFamily


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [3.0, 0.5], [1.0, 3.0]])
    X = np.vstack([rng.multivariate_normal(m, [[1.0, 0.6], [0.6, 1.0]], n // 3) for m in means])
    return X


def test_small_data_keeps_every_finalist():
    X = _data(600)
    best, _ = starts.auto_starts(GaussianFamily("full"), Data(X, np.ones(len(X))), 3,
                                 np.random.RandomState(0), NumpyBackend())
    assert 1 <= len(best) <= starts.N_CONTINUE


def test_large_data_continues_one_settled_finalist(monkeypatch):
    X = _data(3 * starts.SHORT_RUN_SIZE)
    data = Data(X, np.ones(len(X)))
    fam = GaussianFamily("full")
    seen = {}
    settle = starts._settle

    def spy(family, best, work, backend, fixed, label):
        seen["finalists"] = [c.log_likelihood for c in best]
        seen["n_work"] = work.n_samples
        return settle(family, best, work, backend, fixed, label)

    monkeypatch.setattr(starts, "_settle", spy)
    best, _ = starts.auto_starts(fam, data, 3, np.random.RandomState(0), NumpyBackend())
    assert len(best) == 1
    # two distinct finalists settled on the subsample; EM only climbs from the short runs
    assert len(seen["finalists"]) == 2
    assert seen["n_work"] <= starts.SHORT_RUN_SIZE < len(X)
    assert best[0].log_likelihood >= max(seen["finalists"]) - 1e-12


def test_large_fit_reaches_the_same_optimum_as_continuing_every_finalist(monkeypatch):
    X = _data(3 * starts.SHORT_RUN_SIZE, seed=1)
    fit = emkit.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    monkeypatch.setattr(starts, "_settle", lambda family, best, *a: best)
    every = emkit.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    assert fit.lower_bound_ >= every.lower_bound_ - 1e-9 * abs(every.lower_bound_)
