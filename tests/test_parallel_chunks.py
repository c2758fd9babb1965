"""Chunks mapped over threads give the answers of a plain EM, to the last bits.

The reference E- and M-steps are written here plainly (a loop over components,
``scipy.stats`` log densities, the textbook weighted moments), independent of
emkit's feature maps, stacked products and chunking.
"""

import numpy as np
import pytest

from _plain_em import plain_em_trace

from emkit.backends.numpy_backend import Data, NumpyBackend, default_chunk_size, default_n_jobs
from emkit.engine.em import run_em
from emkit.families.gaussian import GaussianFamily

COV_TYPES = ["full", "tied", "diag", "spherical"]
REG = 1e-6


def _data(seed=0, n=3001, d=3, K=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(K, d))
    labels = rng.integers(0, K, size=n)
    X = centres[labels] + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.7 + 50.0
    w = rng.uniform(0.2, 2.0, size=n)
    return X, w


def _covs(ct, cov, d, K):
    return {"full": np.broadcast_to(cov, (K, d, d)).copy(), "tied": cov.copy(),
            "diag": np.broadcast_to(np.diag(cov), (K, d)).copy(),
            "spherical": np.full(K, np.diag(cov).mean())}[ct]


def _start(X, K, ct, seed=1):
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    means = X[rng.choice(X.shape[0], K, replace=False)]
    cov = np.cov(X, rowvar=False)
    return np.full(K, 1.0 / K), means, _covs(ct, cov, d, K)


def _reference_em(X, w, K, ct, n_iter):
    """Mean weighted log-likelihood of the start and after each of ``n_iter`` plain EM steps."""
    return plain_em_trace(X, w, _start(X, K, ct), ct, n_iter, REG)


def _emkit_em(X, w, K, ct, n_iter, chunk_size, n_jobs):
    weights, means, covs = _start(X, K, ct)
    fam = GaussianFamily(ct, REG, np.average(X, axis=0, weights=w))
    prec = np.linalg.inv(covs) if ct in ("full", "tied") else 1.0 / covs
    params = fam.check_init({"means_init": means, "precisions_init": prec}, K, X.shape[1])
    params["weights"] = weights
    res = run_em(fam, params, Data(X, w), NumpyBackend(chunk_size, n_jobs), tol=0.0,
                 max_iter=n_iter, warn_decrease=False)
    return np.concatenate([[res.initial_log_likelihood], res.history]), res.params


@pytest.mark.parametrize("ct", COV_TYPES)
@pytest.mark.parametrize("chunk_size,n_jobs", [(None, 1), (257, 1), (257, 2), (100, 3)])
def test_log_likelihoods_equal_a_plain_reference_em(ct, chunk_size, n_jobs):
    X, w = _data()
    ref = _reference_em(X, w, 3, ct, 8)
    got, _ = _emkit_em(X, w, 3, ct, 8, chunk_size, n_jobs)
    assert ref[-1] > ref[0] + 1e-3  # the run moves
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("ct", COV_TYPES)
def test_bit_identical_for_a_thread_count_and_close_across_counts(ct):
    X, w = _data(seed=3, n=5000, d=4, K=4)
    runs = {j: [_emkit_em(X, w, 4, ct, 6, 300, j) for _ in range(2)] for j in (1, 2, 4)}
    for j, ((h1, p1), (h2, p2)) in runs.items():
        assert np.array_equal(h1, h2), j
        for key in p1:
            assert np.array_equal(p1[key], p2[key]), (j, key)
    for j in (2, 4):
        np.testing.assert_allclose(runs[j][0][0], runs[1][0][0], rtol=1e-12, atol=0)
        np.testing.assert_allclose(runs[j][0][1]["means"], runs[1][0][1]["means"], rtol=1e-11)


def test_pool_keeps_chunk_order_and_raises_the_first_failure():
    data = Data(np.arange(1000.0)[:, None], np.ones(1000))
    be = NumpyBackend(chunk_size=64, n_jobs=3)
    np.testing.assert_array_equal(be.map_concat(lambda c: c.X[:, 0] * 2, data), np.arange(1000.0) * 2)
    (total,) = be.map_reduce(lambda c: (np.array([c.start, c.n_samples]),), data)
    assert total.tolist() == [sum(range(0, 1000, 64)), 1000]

    def fail(c):
        if c.start >= 256:
            raise ValueError(f"chunk at {c.start}")
        return (c.n_samples,)

    with pytest.raises(ValueError, match="chunk at 256$"):
        be.map_reduce(fail, data)


def test_nested_map_inside_a_worker_runs_in_that_worker():
    data = Data(np.ones((600, 2)), np.ones(600))
    be = NumpyBackend(chunk_size=50, n_jobs=2)
    (total,) = be.map_reduce(lambda c: (be.map_reduce(lambda cc: (cc.n_samples,), c)[0],), data)
    assert total == 600


def test_default_chunk_size_and_jobs(monkeypatch):
    assert default_n_jobs() >= 1
    monkeypatch.setenv("EMKIT_NUM_THREADS", "3")
    assert default_n_jobs() == 3
    monkeypatch.setenv("EMKIT_NUM_THREADS", "zero")
    assert default_n_jobs() >= 1
    for K, d in [(16, 16), (5, 2), (16, 64), (1, 1)]:
        size = default_chunk_size(K, d)
        assert 1024 <= size <= 2**22 // max(1, K * d) + 1024


def test_default_chunk_size_fills_half_a_cache_with_the_log_densities(monkeypatch):
    from emkit.backends import numpy_backend as nb

    # a 2 MiB per-core cache (the benchmark machine's L2): half of it holds a chunk's
    # (K, n) float64 log densities
    monkeypatch.setattr(nb, "_CACHE", [2**21])
    assert default_chunk_size(16, 16) == 2**20 // (8 * 16) == 8192
    assert default_chunk_size(5, 2) == 2**20 // (8 * 5) == 26214
    # bounded below by the fixed cost of a chunk, above by the widest temporary (K d values)
    assert default_chunk_size(64, 2) == nb.MIN_CHUNK_ROWS == 4096
    assert default_chunk_size(2, 50) == 2**22 // 100
    assert default_chunk_size(16, 64) == 4096
    # an unreadable or missing cache size falls back to 1 MiB
    monkeypatch.setattr(nb, "_CACHE", [])
    monkeypatch.setattr(nb.os, "listdir", lambda path: (_ for _ in ()).throw(OSError("no sysfs")))
    assert nb.cache_bytes() == nb.FALLBACK_CACHE_BYTES == 2**20
    assert default_chunk_size(16, 16) == 4096


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_features_whitened_path_equals_the_reference_em(dtype):
    # d = 9, K = 2: m = 55 feature rows of the quadratic map against K d = 18, so full
    # covariance runs the stacked whitening and its batched M-step (_whitened_moments),
    # the float32 one with float32 products about each component's mean
    X, w = _data(seed=5, n=3001, d=9, K=2)
    X = X.astype(dtype).astype(np.float64)  # the same values for the reference
    ref = _reference_em(X, w, 2, "full", 8)
    got, _ = _emkit_em(X.astype(dtype), w, 2, "full", 8, 257, 2)
    assert ref[-1] > ref[0] + 1e-3  # the run moves
    np.testing.assert_allclose(got, ref, rtol=1e-12 if dtype == np.float64 else 1e-6, atol=0)
