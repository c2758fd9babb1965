"""The Dask backend: a dask array's row blocks are the chunks, results as in memory."""

import dask.array as da
import numpy as np
import pytest
from dask import distributed

import emkit


def _data():
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(0, 1, (3000, 3)), rng.normal(4, 1.5, (2000, 3))]


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_dask_fit_equals_numpy_fit_with_same_chunks(ct):
    X = _data()
    kw = dict(covariance_type=ct, random_state=0, tol=1e-10)
    a = emkit.GaussianMixture(2, **kw).fit(da.from_array(X, chunks=(700, 3)))
    b = emkit.GaussianMixture(2, chunk_size=700, **kw).fit(X)
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-12 * abs(b.lower_bound_)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.score_samples(da.from_array(X, chunks=(900, 3))), b.score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_dask_fit_on_a_local_distributed_cluster_with_weights():
    X = _data()
    w = np.random.default_rng(1).integers(0, 3, size=X.shape[0]).astype(float)
    ref = emkit.GaussianMixture(2, random_state=0, tol=1e-10).fit(X, sample_weight=w)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        gm = emkit.GaussianMixture(2, random_state=0, tol=1e-10).fit(
            da.from_array(X, chunks=(1000, 3)), sample_weight=w
        )
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-9)


def test_dask_bad_input_names_the_absolute_row():
    X = _data()
    X[1234, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN .*first at row 1234, column 1"):
        emkit.GaussianMixture(2).fit(da.from_array(X, chunks=(700, 3)))
    gm = emkit.GaussianMixture(2, random_state=0).fit(_data())
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        gm.predict(da.ones((10, 2), chunks=5))


@pytest.mark.parametrize("init", ["mbhac", "kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_on_dask_equals_numpy(init):
    """Weighted draws, subsamples and row indices made from the blocks give the in-memory start
    ("auto", the default, is held to it on a cluster in test_dask_cluster)."""
    X = _data()
    w = np.random.default_rng(2).integers(0, 3, size=X.shape[0]).astype(float)
    kw = dict(init_params=init, random_state=0, tol=1e-4)
    a = emkit.GaussianMixture(2, **kw).fit(da.from_array(X, chunks=(700, 3)), sample_weight=w)
    b = emkit.GaussianMixture(2, **kw).fit(X, sample_weight=w)
    assert a.n_iter_ == b.n_iter_
    assert abs(a.lower_bound_ - b.lower_bound_) <= 1e-10 * abs(b.lower_bound_)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-8)


def test_lazy_scoring_tasks_run_without_scikit_learn():
    """The tasks of ``score_samples``/``predict``/``predict_proba`` on a dask array carry the
    family and its parameters, not the estimator: a fresh process (as a worker) unpickles and
    runs them without importing scikit-learn (about 110 MiB of a worker's memory)."""
    import pickle
    import subprocess
    import sys

    import cloudpickle

    X = np.random.default_rng(0).normal(size=(3000, 2))
    X[2345, 1] = np.nan
    gm = emkit.GaussianMixture(2, random_state=0).fit(X[:1000])
    Xd = da.from_array(X[:2000], chunks=700)
    outs = [gm.score_samples(Xd), gm.predict(Xd), gm.predict_proba(Xd),
            gm.predict(da.from_array(X, chunks=700))]
    graphs = cloudpickle.dumps([(dict(o.__dask_graph__()), o.__dask_keys__()) for o in outs])
    code = ("import pickle, sys, dask\n"
            "out = []\n"
            "for g, k in pickle.loads(sys.stdin.buffer.read()):\n"
            "    try:\n"
            "        out.append(dask.get(g, k))\n"
            "    except ValueError as exc:\n"
            "        out.append(str(exc))\n"
            "out.append([m for m in ('sklearn', 'pandas', 'pyarrow') if m in sys.modules])\n"
            "sys.stdout.buffer.write(pickle.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", code], input=graphs, capture_output=True, check=True)
    scores, labels, proba, bad, imported = pickle.loads(proc.stdout)
    assert imported == []
    np.testing.assert_allclose(np.concatenate(scores), gm.score_samples(X[:2000]), rtol=1e-12)
    np.testing.assert_array_equal(np.concatenate(labels), gm.predict(X[:2000]))
    np.testing.assert_allclose(np.concatenate([b[0] for b in proba]), gm.predict_proba(X[:2000]), rtol=1e-12)
    assert "first at row 2345, column 1" in bad  # the block's check still runs on the worker
