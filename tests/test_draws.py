"""Weighted draws found pass by pass (engine/draws.py) equal the in-memory draws row for row."""

import subprocess
import sys

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


def test_draws_with_a_mass_function_and_on_dask_blocks(monkeypatch):
    monkeypatch.setattr(draws, "MIN_SPLITS", 256)  # sample, count and fetch on the blocks
    monkeypatch.setattr(draws, "MIN_FETCH", 64)
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


@pytest.mark.parametrize("m", [1, 2_000])
def test_few_passes_each_returning_o_m_numbers(monkeypatch, m):
    """Three passes (sum and sample, count, fetch) while n m is small against the budgets; no
    pass returns O(n) numbers and the last one fetches at most the fetch budget of rows."""
    rng = np.random.default_rng(m)
    n = 100_000
    X = rng.normal(size=(n, 2))
    w = rng.integers(1, 3, n).astype(float)
    u = rng.uniform(size=m)
    passes = []
    real = NumpyBackend.map_reduce

    def spy(self, fn, data, *a):
        out = real(self, fn, data, *a)
        size = sum(np.size(x) if not isinstance(x, list) else sum(np.size(y) for y in x) for x in out)
        passes.append((fn.__name__, size))
        return out

    monkeypatch.setattr(NumpyBackend, "map_reduce", spy)
    got = draws.draw_rows(Data(X, w), NumpyBackend(20_000), X.mean(axis=0), canonical_direction(2), u)
    np.testing.assert_array_equal(got, _reference(X, w, X.mean(axis=0), u))
    assert len(passes) == 3, passes
    budget = max(draws.SPLITS_PER_DRAW * m, draws.MIN_SPLITS)
    # sampled splits: about the budget (a binomial count, keys and indices); counts: two per
    # interval
    assert all(size < 2 * 1.05 * budget + 10 for _, size in passes), passes
    assert passes[-1][0] == "fetch", passes
    assert passes[-1][1] <= 3 * max(draws.FETCH_PER_DRAW * m, draws.MIN_FETCH), passes


def test_the_splits_do_not_depend_on_the_chunking(monkeypatch):
    """The sampled split rows are a hash of the row index: any chunking makes the same passes."""
    monkeypatch.setattr(draws, "MIN_SPLITS", 64)
    monkeypatch.setattr(draws, "MIN_FETCH", 16)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50_000, 1))
    u = rng.uniform(size=300)
    seen = []
    for chunk in (1_000, 7_919, 50_000):
        sizes = []

        class Spy(NumpyBackend):
            def map_reduce(self, fn, data, *a):
                out = super().map_reduce(fn, data, *a)
                sizes.append(sum(np.size(x) if not isinstance(x, list) else sum(map(np.size, x))
                                 for x in out))
                return out

        got = draws.draw_rows(Data(X, np.ones(50_000)), Spy(chunk), X.mean(axis=0), np.ones(1), u)
        seen.append((tuple(got), tuple(sizes)))
    assert seen[0] == seen[1] == seen[2]


@pytest.mark.parametrize("seed", range(8))
def test_refinement_rounds_give_the_same_draws(monkeypatch, seed):
    """With small budgets every draw goes through several sample-and-count rounds (ties of
    the sort key among counts, zero weights, a few chunks) and still equals the in-memory draw."""
    monkeypatch.setattr(draws, "MIN_SPLITS", 8)
    monkeypatch.setattr(draws, "MIN_FETCH", 4)
    monkeypatch.setattr(draws, "SPLITS_PER_DRAW", 2)
    monkeypatch.setattr(draws, "FETCH_PER_DRAW", 2)
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2_000, 20_000))
    X = rng.integers(0, 4, (n, 2)).astype(float) if seed % 2 else rng.normal(size=(n, 2))
    w = rng.integers(0, 3, n).astype(float) * (0.37 if seed % 3 == 0 else 1.0)
    u = rng.uniform(size=int(rng.integers(1, 60)))
    counted = []
    real = NumpyBackend.map_reduce

    def spy(self, fn, data, *a):
        counted.append(fn.__qualname__)
        return real(self, fn, data, *a)

    monkeypatch.setattr(NumpyBackend, "map_reduce", spy)
    shift = X.mean(axis=0)
    got = draws.draw_rows(Data(X, w), NumpyBackend(int(rng.integers(500, 5_000))), shift,
                          canonical_direction(2), u)
    np.testing.assert_array_equal(got, _reference(X, w, shift, u))
    assert sum("count" in q for q in counted) >= 2, counted


def test_the_engine_loads_without_scikit_learn():
    """A dask worker unpickling a fit's passes imports the engine, the backends and the
    families (the package itself is lazy): never scikit-learn, pandas or pyarrow, which
    cost a worker about 110 MiB (benchmarks/README.md)."""
    code = ("import sys, emkit.engine.draws, emkit.engine.init, emkit.engine.em, emkit.engine.starts, "
            "emkit.backends.dask_backend, emkit.families; "
            "print(sorted(m for m in ('sklearn', 'pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # the public names still resolve, on first use
    code = "import emkit; print(emkit.GaussianMixture.__name__, emkit.ConvergenceWarning.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["GaussianMixture", "sklearn.exceptions"]
