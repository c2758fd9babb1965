"""emEM runs each distinct start once: a start equal to an earlier one gets no short run."""

from __future__ import annotations

import numpy as np
import pytest

import emkit.engine._short_runs as short
import emkit.engine.starts as starts
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.datasets import load_faithful
from emkit.families.gaussian import GaussianFamily


def _auto(X, K, ct="full"):
    return starts.auto_starts(GaussianFamily(ct), Data(X, np.ones(len(X))), K,
                              np.random.RandomState(0), NumpyBackend())


@pytest.fixture
def short_runs(monkeypatch):
    """Names of the starts that got a short EM run."""
    names = []
    run_em_batch = short.run_em_batch  # auto_starts' short runs (ShortRuns.answer)

    def spy(family, params_list, data, backend, **kw):
        names.extend(label.split()[-1] for label in kw["labels"])
        return run_em_batch(family, params_list, data, backend, **kw)

    monkeypatch.setattr(short, "run_em_batch", spy)
    return names


def _separated(seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal([0.0, 0.0], 0.3, (60, 2)), rng.normal([8.0, 8.0], 0.3, (60, 2))])


def test_one_component_runs_one_start(short_runs):
    # every start of one component is the same M-step over all rows
    best, failed = _auto(load_faithful(), 1)
    assert short_runs == ["mbhac-vvv"]
    assert not failed and [c.name for c in best] == ["mbhac-vvv"]
    X = load_faithful()
    mean = X.mean(axis=0)
    np.testing.assert_allclose(best[0].params["means"][0], mean, rtol=1e-12)
    # the sample covariance, plus the covariance floor (reg_covar) on the diagonal
    np.testing.assert_allclose(best[0].params["covariances"][0],
                               np.cov(X.T, bias=True), rtol=1e-9, atol=1e-5)


def test_repeated_starts_are_skipped_without_changing_the_result(short_runs, monkeypatch):
    X = _separated()
    best, _ = _auto(X, 2)
    ran = list(short_runs)
    n_starts = 3 + starts.N_KMEANS + starts.N_RANDOM_ROWS
    # two well-separated clusters: the trees and k-means find the same two clusters
    assert len(ran) < n_starts and ran[0] == "mbhac-vvv"
    short_runs.clear()
    monkeypatch.setattr(starts, "same_params", lambda a, b: False)
    every, _ = _auto(X, 2)
    assert len(short_runs) == n_starts
    assert [c.name for c in best] == [c.name for c in every]
    for a, b in zip(best, every):
        assert a.log_likelihood == b.log_likelihood
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])


def test_same_params():
    a = {"weights": np.array([0.5, 0.5]), "means": np.array([[1.0, 2.0], [3.0, 4.0]])}
    assert starts.same_params(a, {k: v.copy() for k, v in a.items()})
    # a difference far above rounding is another start
    b = {**a, "means": a["means"] + np.array([[0.0, 0.0], [0.0, 4e-9]])}
    assert not starts.same_params(a, b)
    assert not starts.same_params(a, {"weights": a["weights"]})
    assert not starts.same_params(a, {**a, "means": a["means"][:1]})
    assert not starts.same_params(a, {**a, "means": np.full((2, 2), np.nan)})
