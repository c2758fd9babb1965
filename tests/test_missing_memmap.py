"""missing="marginalize" on memory-mapped data: set-up chunk by chunk, the same fit."""

import tracemalloc
import warnings

import numpy as np

import emkit
from emkit.backends.numpy_backend import Data, NumpyBackend


def _memmap(tmp_path, n, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n)
    X = np.c_[rng.normal(np.array([[0, 0], [3, 1], [6, -1]])[z], 1.0), rng.poisson(z * 3 + 1.0)]
    X[rng.random(X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=X.shape)
    mm[:] = X
    mm.flush()
    return X, np.load(tmp_path / "x.npy", mmap_mode="r")


def test_memmap_fit_equals_in_memory_fit(tmp_path):
    X, mm = _memmap(tmp_path, 3000)
    blocks = [("gaussian", [0, 1]), ("poisson", [2])]
    kw = dict(missing="marginalize", random_state=0, tol=0.0, max_iter=10, acceleration=None,
              init_params="kmeans")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = emkit.MixedMixture(3, blocks=blocks, **kw).fit(X)
        b = emkit.MixedMixture(3, blocks=blocks, chunk_size=400, **kw).fit(mm)
        c = emkit.GaussianMixture(3, chunk_size=400, **kw).fit(mm[:, :2])
        d = emkit.GaussianMixture(3, **kw).fit(X[:, :2])
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-10)
    np.testing.assert_allclose(b.score_samples(mm), a.score_samples(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.history_, d.history_, rtol=1e-10)


def test_set_up_of_a_large_memmap_reads_it_chunk_by_chunk(tmp_path):
    # the blocks' set-up holds a chunk of rows at a time, never the block's columns whole
    _, mm = _memmap(tmp_path, 200_000)
    m = emkit.GaussianMixture(3, missing="marginalize")
    m.n_features_in_ = 3
    family = m._configured_family()
    data = Data(mm, np.ones(mm.shape[0]))
    tracemalloc.start()
    try:
        family.prepare(data, NumpyBackend(5000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # O(n) row vectors (weights, masks: 1 + 1 + 8 bytes a row) but not the 24 bytes a row of X
    assert peak < 0.6 * mm.nbytes, (peak, mm.nbytes)
