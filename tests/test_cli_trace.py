"""emkit fit --trace, --json history, --plot-history, --acceleration, --init and --fixed.

References: EM written out plainly here for the two-coin problem (Do &
Batzoglou 2008; reference case 4) and the 1-D two-Gaussian tutorial
(reference case 1), run from the same starts.
"""

import json
import re

import numpy as np
import pytest
from scipy.stats import binom, norm
from typer.testing import CliRunner

from emkit import cli

runner = CliRunner()
HEADS = np.array([5.0, 9, 8, 4, 7])


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def coin_em(n_iter, p=(0.6, 0.5)):
    """Plain EM of the two-coin problem, weights held at 0.5: (probs, total log-lik) per iteration."""
    p = np.array(p, dtype=float)
    out = []
    for _ in range(n_iter):
        lik = 0.5 * binom.pmf(HEADS[:, None], 10, p[None, :])
        r = lik / lik.sum(axis=1, keepdims=True)
        p = (r * HEADS[:, None]).sum(0) / (10 * r.sum(0))
        out.append((p.copy(), np.log((0.5 * binom.pmf(HEADS[:, None], 10, p)).sum(1)).sum()))
    return out


def tutorial_data():
    np.random.seed(0)
    return np.concatenate([np.random.normal(0, 1, 50), np.random.normal(2, 1, 50)])


def gauss_em(x, n_iter, floor=0.0):
    """Plain EM from means (0, 1), sds (2, 2), weights (0.5, 0.5): total log-lik per iteration.

    ``floor`` is added to every variance (emkit's reg_covar times the data's variance).
    """
    w, mu, sd = np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.array([2.0, 2.0])
    out = []
    for _ in range(n_iter):
        lik = w * norm.pdf(x[:, None], mu, sd)
        r = lik / lik.sum(1, keepdims=True)
        nk = r.sum(0)
        w, mu = nk / x.size, (r * x[:, None]).sum(0) / nk
        sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(0) / nk + floor)
        out.append((w, mu, sd, np.log((w * norm.pdf(x[:, None], mu, sd)).sum(1)).sum()))
    return out


@pytest.fixture
def coins(tmp_path):
    data = tmp_path / "coins.csv"
    data.write_text("heads\n" + "\n".join(str(int(h)) for h in HEADS) + "\n")
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"weights": [0.5, 0.5], "probabilities": [[0.6], [0.5]]}))
    return data, start


@pytest.fixture
def tutorial(tmp_path):
    data = tmp_path / "x.csv"
    np.savetxt(data, tutorial_data()[:, None], header="x", comments="", fmt="%.17g")
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0], [1]],
                                 "covariances": [[[4]], [[4]]]}))
    return data, start


# ------------------------------------------------------------------ two coins
def test_two_coin_problem_from_the_command_line(coins):
    data, start = coins
    res = ok(run("fit", data, "--family", "binomial", "--trials", 10, "-k", 2, "--init", start,
                 "--fixed", "weights"))
    assert "0.7968" in res.stdout and "0.5196" in res.stdout
    info = json.loads(ok(run("fit", data, "--family", "binomial", "--trials", 10, "-k", 2,
                             "--init", start, "--fixed", "weights", "--json")).stdout)
    assert np.allclose(np.ravel(info["probs"]), [0.79679, 0.51958], atol=5e-6)
    assert info["weights"] == [0.5, 0.5]


def test_ten_plain_em_iterations_traced_equal_reference_em(coins):
    data, start = coins
    res = ok(run("fit", data, "--family", "binomial", "--trials", 10, "-k", 2, "--init", start,
                 "--fixed", "weights", "--acceleration", "none", "--max-iter", 10, "--trace"))
    ref = coin_em(10)
    lines = res.stdout.splitlines()
    assert lines[0] == "start 1"
    assert lines[1].split() == ["iter", "log-likelihood", "change", "w0", "w1", "p0", "p1"]
    rows = [line.split() for line in lines[2:12]]
    for i, (cells, (p, ll)) in enumerate(zip(rows, ref, strict=True)):
        assert int(cells[0]) == i + 1
        assert float(cells[1]) == pytest.approx(ll, rel=1e-9)
        assert [float(c) for c in cells[3:5]] == [0.5, 0.5]
        assert np.allclose([float(c) for c in cells[5:7]], p, rtol=1e-5)
    assert np.allclose(ref[-1][0], [0.7967, 0.5197], atol=5e-5)   # the paper's 10 iterations
    assert "0.7967" in res.stdout and "0.5197" in res.stdout        # the final table
    assert "max_iter" not in res.stderr and "--max-iter 10" in res.stderr


def test_trace_json_lines_and_history(coins):
    data, start = coins
    res = ok(run("fit", data, "--family", "binomial", "--trials", 10, "-k", 2, "--init", start,
                 "--fixed", "weights", "--acceleration", "none", "--max-iter", 10, "--trace",
                 "--json"))
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    trace, model = lines[:-1], lines[-1]
    ref = coin_em(10)
    assert [t["iteration"] for t in trace] == list(range(1, 11))
    for t, (p, ll) in zip(trace, ref, strict=True):
        assert t["log_likelihood"] == pytest.approx(ll, rel=1e-10)
        assert t["mean_log_likelihood"] == pytest.approx(ll / 5, rel=1e-10)
        assert np.allclose(np.ravel(t["parameters"]["probs"]), p, rtol=1e-10)
    assert np.allclose([t["change"] for t in trace[1:]], np.diff([ll for _, ll in ref]), rtol=1e-6)
    assert model["history"] == pytest.approx([t["mean_log_likelihood"] for t in trace], rel=1e-12)
    assert model["n_iter"] == 10


# ----------------------------------------------------------------- 1-D tutorial
def test_tutorial_start_climbs_like_plain_em(tutorial, tmp_path):
    data, start = tutorial
    png = tmp_path / "climb.png"
    res = ok(run("fit", data, "--init", start, "--acceleration", "none", "--json",
                 "--plot-history", png))
    info = json.loads(res.stdout)
    history = np.array(info["history"])
    x = tutorial_data()
    # the default floor: reg_covar=1e-6 times the data's variance on every variance
    ref = gauss_em(x, 30, floor=1e-6 * x.var())
    assert np.allclose(history[:30] * 100, [r[-1] for r in ref], rtol=1e-10)
    assert np.all(np.diff(history) >= -1e-12)
    order = np.argsort(np.ravel(info["means"]))
    assert np.allclose(np.ravel(info["means"])[order], [0.2218, 1.9945], atol=1e-3)
    assert np.allclose(np.array(info["weights"])[order], [0.5273, 0.4727], atol=1e-3)
    assert png.stat().st_size > 0 and "wrote the history plot" in res.stderr


def test_trace_text_parameters_and_wrapping_at_80_columns(tutorial):
    data, start = tutorial
    res = runner.invoke(cli.app, ["fit", str(data), "--init", str(start), "--acceleration", "none",
                                  "--max-iter", "5", "--trace"], env={"COLUMNS": "80"})
    ok(res)
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines[:14])
    x = tutorial_data()
    ref = gauss_em(x, 5, floor=1e-6 * x.var())
    assert lines[1].split()[-1] == "mean1" and lines[2].split() == ["sd0", "sd1"]   # a wrapped header
    numbers = " ".join(lines[3:13]).split()  # 5 iterations, each wrapped on two lines
    per_iter = np.array([float(v) for v in numbers]).reshape(5, 9)
    for row, (w, mu, sd, ll) in zip(per_iter, ref, strict=True):
        assert row[1] == pytest.approx(ll, rel=1e-7)
        assert np.allclose(row[3:], np.concatenate([w, mu, sd]), rtol=1e-5)


def test_squarem_and_plain_reach_the_same_optimum(tutorial):
    data, start = tutorial
    fast = json.loads(ok(run("fit", data, "--init", start, "--json")).stdout)
    plain = json.loads(ok(run("fit", data, "--init", start, "--json", "--acceleration", "none",
                              "--max-iter", 5000)).stdout)
    assert fast["n_iter"] < plain["n_iter"] / 5
    assert fast["log_likelihood"] == pytest.approx(-170.98120, abs=1e-5)
    assert plain["log_likelihood"] == pytest.approx(-170.98120, abs=1e-5)


# ----------------------------------------------------------------------- errors
@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON at line 1, column 2"),
    ("[1, 2]", "expected a JSON object"),
    ('{"rates": [[1], [2]]}', "cannot start from 'rates'; give weights, probs, probabilities"),
    ('{"probs": [[0.6, 0.1], [0.5, 0.2]]}', "probs has shape (2, 2)"),
    ('{"probs": [[1.6], [0.5]]}', "probs"),
    ('{"weights": [0.7, 0.7]}', "weights must sum to 1"),
])
def test_init_file_errors_name_the_file_and_the_parameter(coins, tmp_path, content, expected):
    data, _ = coins
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    res = run("fit", data, "--family", "binomial", "--trials", 10, "--init", bad)
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert f"--init {bad}: " in res.stderr and expected in res.stderr
    assert not re.search(r"\b(probs|weights|means|precisions)_init\b", res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1


def test_gaussian_init_errors_and_fixed_errors(tutorial, tmp_path):
    data, _ = tutorial
    bad = tmp_path / "bad.json"
    bad.write_text('{"covariances": [[[4]], [[-1]]]}')
    res = run("fit", data, "--init", bad)
    assert res.exit_code == 2 and "covariances[1] is not positive definite" in res.stderr
    res = run("fit", data, "--fixed", "weights,rates")
    assert res.exit_code == 2
    assert "--fixed: cannot hold 'rates'; the gaussian family can hold weights, means, covariances" \
        in res.stderr
    res = run("fit", data, "--init", tmp_path / "missing.json")
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_fixed_means_hold_their_start(tutorial):
    data, start = tutorial
    info = json.loads(ok(run("fit", data, "--init", start, "--fixed", "means", "--json")).stdout)
    assert np.ravel(info["means"]).tolist() == [0.0, 1.0]


def test_fit_help_shows_the_estimator_defaults():
    res = runner.invoke(cli.app, ["fit", "--help"], env={"COLUMNS": "200"})
    ok(res)
    text = " ".join(res.stdout.split())
    assert "[default: 1000]" in text and "[default: 1e-09]" in text
    assert "[default: full]" in text and "<bool>" not in text
    for option in ("--trace", "--plot-history", "--acceleration", "--init", "--fixed"):
        assert option in text


@pytest.mark.parametrize("family, extra, start, key", [
    ("poisson", [], {"rates": [[1.5, 2.0], [7.0, 9.0]]}, "rates"),
    ("exponential", [], {"rates": [[0.5, 2.0], [3.0, 9.0]]}, "rates"),
    ("bernoulli", [], {"probabilities": [[0.2, 0.3], [0.7, 0.9]]}, "probs"),
    ("categorical", ["--categories", 3],
     {"probs": [[[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]], [[0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]]}, "probs"),
])
def test_every_family_starts_from_a_file_and_holds_fixed_values(tmp_path, family, extra, start, key):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2 if family == "bernoulli" else 3, size=(40, 2)).astype(float)
    if family == "exponential":
        X = X + 0.5
    data = tmp_path / "d.csv"
    np.savetxt(data, X, delimiter=",", header="a,b", comments="", fmt="%g")
    path = tmp_path / "start.json"
    path.write_text(json.dumps({"weights": [0.3, 0.7], **start}))
    info = json.loads(ok(run("fit", data, "--family", family, *extra, "--init", path,
                             "--fixed", f"weights,{key}", "--json")).stdout)
    assert np.allclose(info["weights"], [0.3, 0.7], rtol=0, atol=1e-15)
    assert np.allclose(info[key], next(iter(start.values())), rtol=0, atol=1e-15)


@pytest.mark.parametrize("cov_type, covariances", [
    ("diag", [[4.0, 1.0], [2.0, 3.0]]),
    ("spherical", [4.0, 2.0]),
    ("tied", [[2.0, 0.5], [0.5, 1.0]]),
    ("full", [[[2.0, 0.5], [0.5, 1.0]], [[1.0, -0.2], [-0.2, 3.0]]]),
])
def test_gaussian_covariances_start_in_their_storage_layout(tmp_path, cov_type, covariances):
    X = np.random.default_rng(2).normal(size=(50, 2))
    data = tmp_path / "d.csv"
    np.savetxt(data, X, delimiter=",", header="a,b", comments="", fmt="%.17g")
    path = tmp_path / "start.json"
    path.write_text(json.dumps({"means": [[0, 0], [1, 1]], "covariances": covariances}))
    info = json.loads(ok(run("fit", data, "--covariance", cov_type, "--init", path,
                             "--fixed", "means,covariances", "--json")).stdout)
    assert np.allclose(info["covariances"], covariances, rtol=1e-12, atol=0)
