"""``--missing marginalize`` with a single family: missing cells integrated out from the
command line, predict on incomplete rows, plots of the observed cells."""

import csv
import io

import numpy as np
import pytest
from typer.testing import CliRunner

from emkit import CategoricalMixture, GaussianMixture, PoissonMixture, cli
from emkit._modelfile import load

runner = CliRunner()


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args])


def _write(path, X, names):
    path.write_text(",".join(names) + "\n" + "\n".join(
        ",".join("" if np.isnan(v) else f"{v:.6f}" for v in row) for row in X) + "\n")
    return path


def _labels(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_gaussian_marginalize_equals_the_library(tmp_path, covariance):
    rng = np.random.default_rng(0)
    X = np.round(np.r_[rng.normal(0, 1, (60, 3)), rng.normal(4, 1, (60, 3))], 6)
    X[rng.random(X.shape) < 0.15] = np.nan
    data = _write(tmp_path / "g.csv", X, ["a", "b", "c"])
    model_path = tmp_path / "g.emk"
    result = run("fit", data, "-k", "2", "--covariance", covariance, "--missing", "marginalize",
                 "--seed", "0", "--out", model_path)
    assert result.exit_code == 0, result.stderr
    model = load(model_path)
    assert model.missing == "marginalize"
    ref = GaussianMixture(2, covariance_type=covariance, missing="marginalize",
                          random_state=0).fit(X)
    np.testing.assert_allclose(model.score_samples(X), ref.score_samples(X), atol=1e-8)
    head, rows = _labels(run("predict", model_path, data).stdout)
    assert head == ["label"]
    np.testing.assert_array_equal([int(r[0]) for r in rows], ref.predict(X))
    # without the option the empty cells are an error naming the first one
    bad = run("fit", data, "-k", "2")
    assert bad.exit_code == 2
    assert "missing or NaN" in bad.stderr and "--drop-missing" in bad.stderr


def test_discrete_families_marginalize_and_plot_the_observed_cells(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from emkit.plotting import plot_pmf

    rng = np.random.default_rng(1)
    X = rng.poisson(np.where(rng.random(200) < 0.5, 1.0, 6.0)[:, None], (200, 2)).astype(float)
    X[rng.random(X.shape) < 0.2] = np.nan
    data = _write(tmp_path / "p.csv", X, ["u", "v"])
    png = tmp_path / "p.png"
    model_path = tmp_path / "p.emk"
    result = run("fit", data, "--family", "poisson", "-k", "2", "--missing", "marginalize",
                 "--seed", "0", "--out", model_path, "--plot", png)
    assert result.exit_code == 0, result.stderr
    assert png.stat().st_size > 0
    model = load(model_path)
    ref = PoissonMixture(2, missing="marginalize", random_state=0).fit(X)
    np.testing.assert_allclose(model.score_samples(X), ref.score_samples(X), atol=1e-8)
    # the bars are the shares of the observed cells only
    ax = plot_pmf(model, X, feature=1, ax=Figure().add_subplot())
    seen = X[~np.isnan(X[:, 1]), 1].astype(int)
    heights = [p.get_height() for p in ax.patches][: seen.max() + 1]
    np.testing.assert_allclose(heights, np.bincount(seen) / seen.size)


def test_categorical_unknown_missing(tmp_path):
    data = tmp_path / "c.csv"
    rng = np.random.default_rng(2)
    colours = np.array(["blue", "green", "red"])
    rows = [(colours[rng.integers(3)], colours[rng.integers(3)]) for _ in range(80)]
    data.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in rows) + "\n")
    model_path = tmp_path / "c.emk"
    result = run("fit", data, "--family", "categorical", "-k", "2", "--missing", "marginalize",
                 "--unknown", "missing", "--seed", "0", "--out", model_path)
    assert result.exit_code == 0, result.stderr
    model = load(model_path)
    assert model.unknown == "missing" and model.unknown_levels_ == "missing"
    new = tmp_path / "n.csv"
    new.write_text("a,b\nred,purple\n,blue\n")
    head, got = _labels(run("predict", model_path, new, "--proba").stdout)
    assert head == ["component_0", "component_1"]
    expected = model.predict_proba(np.array([[2, np.nan], [np.nan, 0]]))
    np.testing.assert_allclose(np.array(got, dtype=float), expected, rtol=1e-5)
    # the same model on codes, fitted in Python
    codes = np.array([[list(colours).index(a), list(colours).index(b)] for a, b in rows], float)
    ref = CategoricalMixture(2, missing="marginalize", unknown="missing", n_categories=3,
                             random_state=0).fit(codes)
    np.testing.assert_allclose(model.probs_, ref.probs_, atol=1e-8)
