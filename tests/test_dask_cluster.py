"""The Dask backend on a real dask.distributed cluster of two worker processes.

One ``LocalCluster`` (2 processes, 1 thread each) serves the whole module.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from dask import distributed

import emkit
from emkit.backends.dask_backend import DaskBackend
from emkit.backends.numpy_backend import Data

#: rows of the fits compared with NumPy: above the 100,000-row threshold at which
#: the default k-means initialisation switches to a weighted subsample
N = 300_000


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


def _data(n=N):
    rng = np.random.default_rng(0)
    z = rng.random(n) < 0.4
    G = np.where(z[:, None], rng.normal(0, 1, (n, 2)), rng.normal(5, 1.5, (n, 2)))
    C = rng.poisson(np.where(z, 1.0, 8.0)[:, None], size=(n, 2))
    return G, C


G, C = _data()
TRIALS = np.random.default_rng(1).integers(10, 20, N)
WEIGHTS = np.random.default_rng(2).integers(0, 3, N).astype(float)

CASES = [
    *[(emkit.GaussianMixture, G, {"covariance_type": ct}, {}) for ct in ("full", "tied", "diag")],
    # sample weights of 0, 1 and 2: drawn from and summed on the workers
    (emkit.GaussianMixture, G, {"covariance_type": "spherical"}, {"sample_weight": WEIGHTS}),
    (emkit.BernoulliMixture, (C > 3).astype(float), {}, {}),
    (emkit.BinomialMixture, np.minimum(C, 10), {"n_trials": 10}, {}),
    (emkit.BinomialMixture, np.minimum(C, 10), {}, {"n_trials": TRIALS}),
    (emkit.PoissonMixture, C, {}, {}),
    (emkit.CategoricalMixture, np.minimum(C, 4), {}, {}),
]


@pytest.mark.parametrize("cls,X,ctor,kw", CASES, ids=lambda v: getattr(v, "__name__", None))
def test_fit_on_the_cluster_equals_the_numpy_fit(client, cls, X, ctor, kw):
    a = cls(2, random_state=0, **ctor).fit(X, **kw)
    b = cls(2, random_state=0, **ctor).fit(da.from_array(X, chunks=N // 6), **kw)
    assert b.n_iter_ == a.n_iter_
    assert abs(b.lower_bound_ - a.lower_bound_) <= 1e-10 * abs(a.lower_bound_)
    # the fitted model on the cluster scores the data as NumPy does
    Xd = da.from_array(X, chunks=N // 5)
    assert b.score(Xd, **kw) == pytest.approx(a.score(X, **kw), rel=1e-12)
    side = {k: v for k, v in kw.items() if k != "sample_weight"}
    assert b.bic(Xd, **side) == pytest.approx(a.bic(X, **side), rel=1e-12)


def _counting_source(log_dir, n_blocks, rows, d=2):
    """A dask array whose every block computation appends a line to a file."""

    def block(block_info=None):
        i = block_info[None]["chunk-location"][0]
        with open(os.path.join(log_dir, f"block{i}"), "a") as fh:
            fh.write("x\n")
        rng = np.random.default_rng(i)
        z = rng.random(rows) < 0.5
        return np.where(z[:, None], rng.normal(0, 1, (rows, d)), rng.normal(4, 1, (rows, d)))

    return da.map_blocks(block, chunks=((rows,) * n_blocks, (d,)), dtype=np.float64)


def _counts(log_dir, n_blocks):
    out = []
    for i in range(n_blocks):
        path = os.path.join(log_dir, f"block{i}")
        if os.path.exists(path):
            with open(path) as fh:
                out.append(len(fh.readlines()))
        else:
            out.append(0)
    return out


@pytest.mark.parametrize("init", ["kmeans", "random_from_data"])
def test_each_source_block_is_computed_once_per_fit(client, tmp_path, init):
    X = _counting_source(str(tmp_path), 6, 20_000)
    gm = emkit.GaussianMixture(2, init_params=init, random_state=0, tol=1e-8).fit(X)
    assert gm.n_iter_ >= 3  # several passes over the data
    assert _counts(str(tmp_path), 6) == [1] * 6


def test_without_persisting_every_pass_recomputes_the_source(client, tmp_path):
    X = _counting_source(str(tmp_path), 3, 5_000)
    gm = emkit.GaussianMixture(2, random_state=0, tol=1e-8).fit(X, persist=False)
    counts = _counts(str(tmp_path), 3)
    assert min(counts) > gm.n_iter_  # validation, init passes and one per EM iteration
    ref = emkit.GaussianMixture(2, random_state=0, tol=1e-8).fit(X)
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-12)


class _Counted:
    """Counts its own serialisations on the client."""

    n = 0

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        _Counted.n += 1
        return (_Counted, (self.value,))


@pytest.mark.parametrize("n_blocks", [4, 40])
def test_parameters_are_serialised_once_per_pass_and_sums_reduced_on_workers(client, n_blocks):
    X = da.from_array(np.arange(n_blocks * 300.0).reshape(-1, 3), chunks=(30, 3))
    backend = DaskBackend()
    data = Data(X, np.ones(X.shape[0]))
    backend.map_reduce(lambda ch: (ch.X.sum(),), data)  # warm-up: ships side data once
    params = _Counted(2.0)
    _Counted.n = 0
    (total,) = backend.map_reduce(lambda ch: (params.value * ch.X.sum(axis=0),), data)
    np.testing.assert_allclose(total, 2.0 * np.arange(n_blocks * 300.0).reshape(-1, 3).sum(axis=0))
    assert _Counted.n <= 3  # independent of the number of blocks (once per task would be >= 40)


def test_tree_sum_adds_at_most_split_every_parts_per_task():
    parts = [dask.delayed(lambda i=i: (np.array([i]),))() for i in range(50)]
    graph = dict(emkit.backends.dask_backend.tree_sum(parts, 4).__dask_graph__())
    assert dask.compute(emkit.backends.dask_backend.tree_sum(parts, 4))[0][0][0] == sum(range(50))
    n_deps = [len(getattr(task, "dependencies", ())) for key, task in graph.items()
              if str(key).startswith("_add")]
    assert n_deps and max(n_deps) <= 4


def test_chunk_size_is_honoured_inside_each_block(client):
    X = da.from_array(G[:5000], chunks=(2500, 2))
    sizes = DaskBackend(chunk_size=300).map_concat(lambda ch: np.array([ch.n_samples]),
                                                   Data(X, np.ones(5000)))
    assert sizes.max() <= 300 and sizes.sum() == 5000
    a = emkit.GaussianMixture(2, random_state=0, chunk_size=300).fit(X)
    b = emkit.GaussianMixture(2, random_state=0, chunk_size=300).fit(G[:5000])
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-12)


def test_predictions_on_a_dask_array_are_lazy_and_equal_numpy(client, tmp_path):
    gm = emkit.GaussianMixture(2, random_state=0).fit(G[:20_000])
    X = _counting_source(str(tmp_path), 4, 5_000)
    outs = [gm.predict(X), gm.predict_proba(X), gm.score_samples(X), gm.component_log_densities(X)]
    assert all(isinstance(o, da.Array) for o in outs)
    assert _counts(str(tmp_path), 4) == [0] * 4  # nothing computed yet
    Xn = X.compute()
    labels, proba, ll, comp = dask.compute(*outs)
    np.testing.assert_array_equal(labels, gm.predict(Xn))
    np.testing.assert_allclose(proba, gm.predict_proba(Xn), rtol=1e-12)
    np.testing.assert_allclose(ll, gm.score_samples(Xn), rtol=1e-12)
    np.testing.assert_allclose(comp, gm.component_log_densities(Xn), rtol=1e-12)
    assert proba.shape == (20_000, 2) and labels.shape == (20_000,)


def test_lazy_predictions_report_bad_rows_when_computed(client):
    gm = emkit.GaussianMixture(2, random_state=0).fit(G[:5000])
    X = G[:5000].copy()
    X[3210, 1] = np.inf
    out = gm.predict(da.from_array(X, chunks=1000))
    with pytest.raises(ValueError, match=r"inf .*first at row 3210, column 1"):
        out.compute()


def test_score_bic_aic_compute_on_the_cluster_not_the_client(client, tmp_path):
    gm = emkit.GaussianMixture(2, random_state=0).fit(G[:20_000])
    X = _counting_source(str(tmp_path), 4, 5_000)
    Xn = X.compute()
    before = _counts(str(tmp_path), 4)
    assert gm.bic(X) == pytest.approx(gm.bic(Xn), rel=1e-12)
    assert gm.aic(X) == pytest.approx(gm.aic(Xn), rel=1e-12)
    # one pass each, on the workers (np.asarray(X) would add another pass per call)
    assert [c - b for c, b in zip(_counts(str(tmp_path), 4), before, strict=True)] == [2] * 4


def test_binomial_predictions_with_per_row_trials_are_lazy(client):
    X = np.minimum(C[:6000], 10)
    bm = emkit.BinomialMixture(2, random_state=0).fit(X, n_trials=TRIALS[:6000])
    out = bm.predict_proba(da.from_array(X, chunks=1000), n_trials=TRIALS[:6000])
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), bm.predict_proba(X, n_trials=TRIALS[:6000]), rtol=1e-12)


def test_a_fitted_model_pickles_without_cluster_state(client):
    gm = emkit.GaussianMixture(2, random_state=0).fit(da.from_array(G[:8000], chunks=2000))
    again = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(again.means_, gm.means_)


#: a client in a process of its own (the LocalCluster's scheduler runs in the test
#: process): counts and weights made on the workers, tracemalloc around the fit
_CLIENT = textwrap.dedent("""
    import json, sys, time, tracemalloc, warnings
    from dask import distributed
    import emkit
    sys.path.insert(0, sys.argv[3])
    from test_dask_cluster import _worker_data
    warnings.simplefilter("ignore")
    address, n = sys.argv[1], int(sys.argv[2])
    X, w = _worker_data(n)
    with distributed.Client(address) as c:
        X, w = c.persist([X, w])
        distributed.wait([X, w])
        tracemalloc.start()
        t0 = time.perf_counter()
        pm = emkit.PoissonMixture(2, random_state=0, max_iter=5).fit(X, sample_weight=w)
        peak = tracemalloc.get_traced_memory()[1]
        print(time.perf_counter() - t0, file=sys.stderr)
        tracemalloc.stop()
        print(json.dumps({"peak": peak, "ll": pm.lower_bound_}))
""")


def _worker_data(n):
    """Poisson counts (n, 3) and weights 0, 1, 2 made block by block where they are computed."""
    rows = n // 8
    rs = da.random.RandomState(0)
    z = rs.random_sample(n, chunks=rows) < 0.4
    X = rs.poisson(da.where(z, 1.0, 6.0)[:, None] * da.ones((1, 3)), size=(n, 3),
                   chunks=(rows, 3)).astype(float)
    w = da.random.RandomState(1).randint(0, 3, n, chunks=rows).astype(float)
    return X, w


def _client_fit(client, n):
    proc = subprocess.run([sys.executable, "-c", _CLIENT, client.scheduler.address, str(n),
                           os.path.dirname(__file__)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_client_memory_does_not_grow_with_the_rows(client):
    """Default start (emEM) and weights on the workers: the client's peak is the same at 4x the rows.

    Between the two fits an n-length float64 array would add 2.4 MB, an (n, K) one 4.8 MB.
    Five EM passes after the start are enough to see every kind of pass.
    """
    small, large = _client_fit(client, 100_000), _client_fit(client, 400_000)
    assert large["peak"] - small["peak"] < 600_000, (small, large)
    assert large["peak"] < 0.75 * 400_000 * 3 * 8, large  # below the data's size
    # and the fit is the in-memory fit of the same rows and weights
    Xn, wn = dask.compute(*_worker_data(100_000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        ref = emkit.PoissonMixture(2, random_state=0, max_iter=5).fit(Xn, sample_weight=wn)
    assert abs(small["ll"] - ref.lower_bound_) <= 1e-10 * abs(ref.lower_bound_)


def test_a_worker_killed_during_a_fit_gives_the_same_fit(client):
    """SIGKILL one worker process after the first EM pass on all rows: the scheduler re-runs
    its tasks and recomputes the persisted blocks it held from their lineage; the fit is the
    NumPy fit.  (The default start settles on a subsample, so the run on all rows is short:
    the kill comes at its first callback, and at least one more pass must follow it.)"""
    import signal

    X = G[:60_000]
    ref = emkit.GaussianMixture(2, random_state=0).fit(X)
    pids = client.run(os.getpid)  # worker address -> pid
    calls = []

    def kill_one(info):
        calls.append(info)
        if len(calls) == 1:
            os.kill(next(iter(pids.values())), signal.SIGKILL)

    try:
        got = emkit.GaussianMixture(2, random_state=0).fit(da.from_array(X, chunks=10_000),
                                                          callback=kill_one)
    finally:
        client.wait_for_workers(2, timeout=120)  # the nanny restarts it for the other tests
    assert set(client.run(os.getpid).values()) != set(pids.values())  # one process did die
    assert len(calls) >= 2  # and the fit went on after it
    assert got.n_iter_ == ref.n_iter_
    assert abs(got.lower_bound_ - ref.lower_bound_) <= 1e-10 * abs(ref.lower_bound_)
    np.testing.assert_allclose(got.means_, ref.means_, rtol=1e-9)
