"""Out of core and on a cluster from the command line: Parquet datasets, chunked .npy."""

import json
import time

import numpy as np
import pytest

import emkit
from _cli_helpers import ok, run

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _data(n=8000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.random(n) < 0.4
    return np.where(z[:, None], rng.normal(0, 1, (n, 2)), rng.normal(5, 1.2, (n, 2)))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pq")
    X = _data()
    folder = root / "ds"
    (folder / "sub").mkdir(parents=True)
    for i in range(4):
        part = X[i * 2000:(i + 1) * 2000]
        where = folder / "sub" if i == 3 else folder
        pq.write_table(pa.table({"a": part[:, 0], "b": part[:, 1]}), where / f"p{i}.parquet",
                       row_group_size=700)
    np.save(root / "X.npy", X)
    return root, X


def test_fit_on_a_parquet_directory_equals_the_in_memory_fit(dataset):
    root, X = dataset
    got = json.loads(ok(run("fit", root / "ds", "-k", 2, "--seed", 0, "--json")).stdout)
    ref = emkit.GaussianMixture(2, random_state=0).fit(X)
    assert got["n_samples"] == 8000
    assert got["mean_log_likelihood"] == pytest.approx(ref.lower_bound_, rel=1e-10)
    assert got["bic"] == pytest.approx(ref.bic(X), rel=1e-10)
    glob_fit = json.loads(ok(run("fit", f"{root}/ds/**/*.parquet", "-k", 2, "--seed", 0, "--json")).stdout)
    assert glob_fit["mean_log_likelihood"] == got["mean_log_likelihood"]
    npy = json.loads(ok(run("fit", root / "X.npy", "-k", 2, "--seed", 0, "--json",
                            "--chunk-rows", 1500)).stdout)
    assert npy["mean_log_likelihood"] == pytest.approx(ref.lower_bound_, rel=1e-10)


def test_predict_and_score_on_a_dataset_write_in_chunks(dataset, tmp_path):
    root, X = dataset
    model = tmp_path / "m.emkit"
    ok(run("fit", root / "ds", "-k", 2, "--seed", 0, "--out", model))
    ref = emkit.GaussianMixture(2, random_state=0).fit(X)
    ok(run("predict", model, root / "ds", "--out", tmp_path / "lab.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "lab.npy"), ref.predict(X))
    ok(run("predict", model, root / "X.npy", "--chunk-rows", 1000, "--proba", "--out", tmp_path / "p.npy"))
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), ref.predict_proba(X), rtol=1e-9, atol=1e-15)
    text = ok(run("predict", model, root / "ds")).stdout.split()
    assert text[0] == "label" and [int(v) for v in text[1:]] == ref.predict(X).tolist()
    # the CSV written block by block is the in-memory command's CSV, byte for byte
    for extra in ([], ["--proba"]):
        whole = ok(run("predict", model, root / "X.npy", *extra)).stdout
        assert ok(run("predict", model, root / "X.npy", "--chunk-rows", 1500, *extra)).stdout == whole
    sc = json.loads(ok(run("score", model, root / "ds", "--json")).stdout)
    assert sc["mean_log_likelihood"] == pytest.approx(ref.score(X), rel=1e-10)
    assert sc["aic"] == pytest.approx(ref.aic(X), rel=1e-10)


def test_select_on_a_parquet_dataset_with_two_local_workers(dataset):
    root, X = dataset
    got = json.loads(ok(run("select", root / "ds", "-k", "1-2", "--covariance", "full",
                            "--tol", 1e-3, "--max-iter", 100, "--workers", 2, "--json")).stdout)
    ref, _ = emkit.select_model(X, n_components=[1, 2], covariance_types=["full"], random_state=0,
                                tol=1e-3, max_iter=100)
    assert got["best"]["n_components"] == ref.n_components
    assert got["best"]["model"]["weights"] == pytest.approx(ref.weights_.tolist(), rel=1e-8)


def test_parquet_files_with_different_columns_name_the_file(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    X = _data(200)
    pq.write_table(pa.table({"a": X[:100, 0], "b": X[:100, 1]}), folder / "p0.parquet")
    pq.write_table(pa.table({"a": X[100:, 0], "c": X[100:, 1]}), folder / "p1.parquet")
    r = run("fit", folder, "-k", 2)
    assert r.exit_code == 2
    assert "p1.parquet: its columns (a, c) differ from those of" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("fit", empty, "-k", 2)
    assert r.exit_code == 2 and "no Parquet files" in r.stderr


def test_an_unreachable_scheduler_is_one_line_and_exit_2(dataset):
    root, _ = dataset
    t0 = time.monotonic()
    r = run("fit", root / "ds", "-k", 2, "--scheduler", "tcp://127.0.0.1:9")
    assert r.exit_code == 2
    assert time.monotonic() - t0 < 30
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--scheduler tcp://127.0.0.1:9: cannot reach a dask scheduler" in lines[0]
    r = run("fit", root / "ds", "--workers", 2, "--scheduler", "tcp://127.0.0.1:9")
    assert r.exit_code == 2 and "not both" in r.stderr


def test_drop_missing_needs_the_data_in_memory(dataset):
    root, _ = dataset
    r = run("fit", root / "ds", "--drop-missing")
    assert r.exit_code == 2 and "--drop-missing needs the data in memory" in r.stderr
    r = run("fit", root / "ds", "--id-column", "a")
    assert r.exit_code == 2 and "--id-column needs the data in memory" in r.stderr
    r = run("fit", root / "ds", "--family", "auto")
    assert r.exit_code == 2 and "--family auto reads the table into memory" in r.stderr


@pytest.fixture(scope="module")
def counts_dataset(tmp_path_factory):
    """Binomial counts with per-row trials and weights in three Parquet files."""
    rng = np.random.default_rng(3)
    n = 3000
    t = rng.integers(5, 15, n)
    X = rng.binomial(t[:, None], np.where(rng.random(n) < 0.4, 0.2, 0.7)[:, None], size=(n, 2))
    w = rng.integers(0, 3, n).astype(float)
    folder = tmp_path_factory.mktemp("counts")
    for i in range(3):
        s = slice(i * 1000, (i + 1) * 1000)
        pq.write_table(pa.table({"a": X[s, 0], "b": X[s, 1], "t": t[s], "w": w[s]}),
                       folder / f"p{i}.parquet", row_group_size=500)
    return folder, X.astype(float), t, w


def test_weights_and_trials_columns_of_a_dataset_stay_lazy(counts_dataset, monkeypatch):
    from emkit.backends import sources
    from emkit.backends.dask_backend import is_dask_array
    from emkit.cli.inputs import _read_inputs

    folder, X, t, w = counts_dataset
    reads = []
    real = sources._read_group
    monkeypatch.setattr(sources, "_read_group", lambda *a: reads.append(a) or real(*a))
    inputs = _read_inputs(str(folder), None, weights_column="w", trials_column="t")
    assert is_dask_array(inputs.weights) and is_dask_array(inputs.side)
    assert reads == []  # nothing read yet: no column is pulled into memory on its own
    np.testing.assert_array_equal(np.asarray(inputs.weights), w)
    np.testing.assert_array_equal(np.asarray(inputs.side), t)


def test_binomial_fit_with_weights_and_trials_columns_of_a_dataset(counts_dataset, tmp_path):
    folder, X, t, w = counts_dataset
    model = tmp_path / "b.emkit"
    got = json.loads(ok(run("fit", folder, "-k", 2, "--family", "binomial", "--trials-column", "t",
                            "--weights-column", "w", "--seed", 0, "--json", "--out", model)).stdout)
    ref = emkit.BinomialMixture(2, random_state=0).fit(X, n_trials=t, sample_weight=w)
    assert got["mean_log_likelihood"] == pytest.approx(ref.lower_bound_, rel=1e-10)
    assert got["log_likelihood"] == pytest.approx(ref.lower_bound_ * w.sum(), rel=1e-10)
    # predict and score read the trials column block by block too
    ok(run("predict", model, folder, "--trials-column", "t", "--proba", "--out", tmp_path / "p.npy"))
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), ref.predict_proba(X, n_trials=t),
                               rtol=1e-8)
    sc = json.loads(ok(run("score", model, folder, "--trials-column", "t", "--json")).stdout)
    assert sc["mean_log_likelihood"] == pytest.approx(ref.score(X, n_trials=t), rel=1e-10)
