"""Weighted draws found pass by pass (engine/draws.py) equal the in-memory draws row for row."""

import dask
import dask.array as da
import numpy as np
import pytest

from emkit.backends.dask_backend import DaskBackend
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine import draws
from emkit.engine.init import _canonical_order, _pick_by_weight, canonical_direction


def _reference(X, mass, shift, u):
    """The in-memory draw: cumulative mass in the canonical order (argsort of all rows)."""
    order = _canonical_order(Data(X, np.ones(X.shape[0])), NumpyBackend(), shift)
    return _pick_by_weight(mass, order, u)


@pytest.mark.parametrize("seed", range(24))
def test_draws_equal_the_in_memory_draws(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 4000)), int(rng.integers(1, 4))
    # half the cases are counts: many rows share their sort key (ties broken by row index)
    X = rng.integers(0, 3, (n, d)).astype(float) if seed % 2 else rng.normal(size=(n, d))
    w = rng.integers(0, 3, n).astype(float)  # zero weights are never drawn
    w[rng.integers(n)] = 1.0
    if seed % 3 == 0:
        w *= 0.37
    u = rng.uniform(size=int(rng.integers(1, 3000)))
    shift = X.mean(axis=0)
    got = draws.draw_rows(Data(X, w), NumpyBackend(int(rng.integers(1, 700))), shift,
                          canonical_direction(d), u)
    np.testing.assert_array_equal(got, _reference(X, w, shift, u))
    assert np.all(w[got] > 0)


def test_draws_with_a_mass_function_and_on_dask_blocks():
    rng = np.random.default_rng(5)
    n = 30_000
    X = rng.poisson(3.0, (n, 2)).astype(float)
    w = rng.integers(0, 4, n).astype(float)
    shift = X.mean(axis=0)
    u = rng.uniform(size=500)

    def mass(ch):  # weight times the distance to a point, as a k-means++ step uses
        return ch.sample_weight * ((np.asarray(ch.X) - 1.0) ** 2).sum(axis=1)

    ref = _reference(X, w * ((X - 1.0) ** 2).sum(axis=1), shift, u)
    data = Data(da.from_array(X, chunks=7_000), da.from_array(w, chunks=7_000))
    with dask.config.set(scheduler="synchronous"):
        got = draws.draw_rows(data, DaskBackend(chunk_size=2_000), shift, canonical_direction(2), u,
                              mass=mass)
    np.testing.assert_array_equal(got, ref)


def test_the_last_pass_fetches_a_bounded_number_of_rows(monkeypatch):
    """The rows that reach the caller are a multiple of the draws, not of n."""
    rng = np.random.default_rng(1)
    n = 200_000
    X = rng.normal(size=(n, 2))
    w = np.ones(n)
    u = rng.uniform(size=200)
    fetched = []
    real = NumpyBackend.map_reduce

    def spy(self, fn, data, *a):
        out = real(self, fn, data, *a)
        if fn.__name__ == "fetch":
            fetched.append(sum(x.shape[0] for x in out[0]))
        return out

    monkeypatch.setattr(NumpyBackend, "map_reduce", spy)
    got = draws.draw_rows(Data(X, w), NumpyBackend(20_000), X.mean(axis=0), canonical_direction(2), u)
    np.testing.assert_array_equal(got, _reference(X, w, X.mean(axis=0), u))
    assert fetched and fetched[0] <= (draws.LEAF_ROWS + draws.FETCH_PER_DRAW) * u.shape[0]
