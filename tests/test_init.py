"""Initialisation: weighted, row-order invariant, and subsampled for large data."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.init import INIT_METHODS, initial_resp


def _blobs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    labels = rng.integers(0, 4, size=n)
    return centres[labels] + rng.normal(size=(n, 2)), labels


def _labels(X, w, method="kmeans", sample_size=10**9, seed=0):
    resp = initial_resp(method, Data(X, w), 4, np.random.RandomState(seed), NumpyBackend(500), sample_size)
    return resp.argmax(axis=1)


@pytest.mark.parametrize("sample_size", [10**9, 300])
@pytest.mark.parametrize("method", ["kmeans", "k-means++"])
def test_recovers_separated_clusters_with_and_without_subsample(method, sample_size):
    X, truth = _blobs()
    labels = _labels(X, np.ones(len(X)), method, sample_size)
    # seeding alone leaves seeds at data points (boundary rows may go astray);
    # Lloyd iterations move them to the cluster centres
    assert adjusted_rand_score(truth, labels) > (0.98 if method == "kmeans" else 0.9)


@pytest.mark.parametrize("sample_size", [10**9, 300])
def test_row_order_does_not_change_the_start(sample_size):
    X, _ = _blobs()
    w = np.random.default_rng(1).integers(0, 4, size=len(X)).astype(float)
    perm = np.random.default_rng(2).permutation(len(X))
    a = _labels(X, w, sample_size=sample_size)
    b = _labels(X[perm], w[perm], sample_size=sample_size)
    np.testing.assert_array_equal(a[perm], b)


@pytest.mark.parametrize("sample_size", [10**9, 300])
def test_integer_weights_start_like_repeated_rows(sample_size):
    X, _ = _blobs(1000)
    w = np.random.default_rng(3).integers(0, 4, size=len(X))
    a = _labels(X, w.astype(float), sample_size=sample_size)
    b = _labels(np.repeat(X, w, axis=0), np.ones(w.sum()), sample_size=sample_size)
    np.testing.assert_array_equal(np.repeat(a, w), b)


def test_every_method_gives_valid_responsibilities():
    X, _ = _blobs(500)
    # "mbhac" starts from a tree's partition, not centres (tests/test_hcvvv.py)
    for method in [m for m in INIT_METHODS if m != "mbhac"]:
        resp = initial_resp(method, Data(X, np.ones(500)), 4, np.random.RandomState(0), NumpyBackend())
        assert resp.shape == (500, 4)
        np.testing.assert_allclose(resp.sum(axis=1), 1.0)
        assert np.all(resp >= 0)
