"""Tables at 80 columns: no line wider, no number cut (every formatted value appears whole)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emkit import cli
from emkit.cli.views import _fixed, _fmt
from emkit.datasets import load_faithful

runner = CliRunner()


def run80(*args):
    res = runner.invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.stderr
    return res.stdout


def check_width(text):
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory):
    X, names = load_faithful(return_names=True)
    path = tmp_path_factory.mktemp("w") / "faithful.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.10g")
    return path


def test_select_table_at_80_columns(faithful_csv):
    text = run80("select", faithful_csv, "-k", "1-3")
    check_width(text)
    info = json.loads(run80("select", faithful_csv, "-k", "1-3", "--json"))
    for row in info["candidates"]:
        assert _fixed(row["value"]) in text and _fixed(row["log_likelihood"]) in text
    assert "note" not in text          # no empty columns


@pytest.mark.parametrize("k, cov", [(3, "full"), (4, "diag")])
def test_model_table_at_80_columns(faithful_csv, k, cov):
    text = run80("fit", faithful_csv, "-k", k, "--covariance", cov, "--seed", 0)
    check_width(text)
    info = json.loads(run80("fit", faithful_csv, "-k", k, "--covariance", cov, "--seed", 0, "--json"))
    cells = [c.strip() for line in text.splitlines() for c in line.split("│")]
    for value in np.ravel(info["means"]):
        assert _fmt(value) in cells


def test_long_table_of_many_features_at_80_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 5)) * [1, 10, 100, 1000, 1e4]
    names = ["a_rather_long_feature_name", "beta", "gamma_is_long_too", "delta", "epsilon"]
    path = tmp_path / "wide.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.10g")
    text = run80("fit", path, "-k", 2, "--seed", 0)
    check_width(text)
    for name in names:
        assert name in text



def test_mixed_type_model_at_80_columns(tmp_path):
    """--family auto: a table per kind of block, each number whole, labels by label."""
    rng = np.random.default_rng(0)
    n = 120
    z = rng.random(n) < 0.5
    rows = ["age_in_years,favourite_colour,smoker,visits_last_year"]
    for i in range(n):
        rows.append(f"{rng.normal(30 if z[i] else 55, 4):.2f},"
                    f"{['blue', 'green', 'red'][rng.integers(3)]},"
                    f"{'yes' if rng.random() < (0.8 if z[i] else 0.2) else 'no'},"
                    f"{rng.poisson(1 if z[i] else 6)}")
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(rows) + "\n")
    args = ("fit", path, "--family", "auto", "-k", 3, "--seed", 0)
    text = run80(*args)
    check_width(text)
    info = json.loads(run80(*args, "--json"))
    cells = [c.strip() for line in text.splitlines() for c in line.split("│")]
    blocks = {b["family"]: b for b in info["blocks"]}
    for value in np.ravel(blocks["gaussian"]["means"]):
        assert _fmt(value) in cells
    for value in np.ravel(blocks["poisson"]["rates"]):
        assert _fmt(value) in cells
    for label, probs in info["category_probabilities"]["favourite_colour"].items():
        assert label in cells and all(_fmt(p, 3) in cells for p in probs)
    assert "P(=0)" not in text  # labelled columns are shown by their labels
