"""``emkit bootstrap``: the library's numbers on the command line, one-line errors."""

import json

import numpy as np
import pytest

import emkit
from test_cli import ok, run, write_csv


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("boot")
    rng = np.random.default_rng(4)
    X = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(5, 1, (50, 2))]
    data = write_csv(tmp / "two.csv", X, ["a", "b"])
    model = emkit.GaussianMixture(2, covariance_type="VII", random_state=0).fit(X)
    emkit.save(model, tmp / "two.emkit")
    return tmp / "two.emkit", data, X


def test_standard_errors_are_the_librarys(saved):
    path, data, _ = saved
    X = np.loadtxt(data, delimiter=",", skiprows=1)  # the values the command reads
    res = ok(run("bootstrap", path, data, "-B", 6, "--seed", 3, "--kind", "weighted", "--json"))
    out = json.loads(res.stdout)
    ref = emkit.bootstrap(emkit.load(path), X, 6, kind="weighted", random_state=3)
    assert out["n_fitted"] == 6 and out["n_failed"] == 0 and out["kind"] == "weighted"
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(out["std_errors"][name], ref.std_errors[name], rtol=1e-12)
        np.testing.assert_allclose(out["ci_lower"][name], ref.ci_lower[name], rtol=1e-12)
    row = next(r for r in out["table"] if r["parameter"] == "means[2,1]")
    assert row["std_error"] == pytest.approx(ref.std_errors["means"][1, 0], rel=1e-12)
    text = ok(run("bootstrap", path, data, "-B", 6, "--seed", 3, "--kind", "weighted")).stdout
    assert "6 of 6 replicates refitted" in text and "means[2,1]" in text


def test_lrt_is_the_librarys(saved):
    path, data, _ = saved
    X = np.loadtxt(data, delimiter=",", skiprows=1)
    out = json.loads(ok(run("bootstrap", path, data, "--lrt", "-B", 5, "--max-components", 1,
                            "--seed", 1, "--json")).stdout)
    ref = emkit.bootstrap_lrt(X, emkit.load(path), max_components=1, n_boot=5, random_state=1)
    assert out["n_components"] == [1] and out["n_failed"] == list(ref.n_failed)
    np.testing.assert_allclose(out["statistic"], ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(out["p_value"], ref.p_value)
    text = ok(run("bootstrap", path, data, "--lrt", "-B", 3, "--max-components", 1)).stdout
    assert "LRTS" in text and "first K not rejected" in text


@pytest.mark.parametrize(("args", "word"), [
    (["-B", "0"], "--n-boot"),
    (["--kind", "jackknife"], "--kind"),
    (["--level", "1.5"], "level"),
    (["--max-components", "2"], "--lrt"),
    (["--lrt", "--kind", "weighted"], "--kind"),
    (["--jobs", "0"], "--jobs"),
])
def test_bad_options_exit_2_with_one_line(saved, args, word):
    path, data, _ = saved
    res = run("bootstrap", path, data, *args)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0], res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_missing_model_and_wrong_data_exit_2(saved, tmp_path):
    path, data, X = saved
    res = run("bootstrap", tmp_path / "nope.emkit", data)
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    one = write_csv(tmp_path / "one.csv", X[:, :1], ["a"])
    res = run("bootstrap", path, one)
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
