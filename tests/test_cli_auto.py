"""``emkit fit --family auto``: a family per column, missing cells integrated out."""

import json

import numpy as np
import pytest

from _cli_helpers import blank, run, two_groups
from emkit._modelfile import load


def _survey(path, n=300, seed=0, missing=0.1):
    """Ages (real), a yes/no answer (0/1), visits (counts), with empty cells."""
    rng = np.random.default_rng(seed)
    z, age = two_groups(rng, n)
    income = np.where(z, rng.normal(2.0, 0.5, n), rng.normal(4.0, 0.7, n))
    yes = (rng.random(n) < np.where(z, 0.85, 0.15)).astype(int)
    visits = rng.poisson(np.where(z, 1.0, 6.0))
    lines = ["age,income,smoker,visits"]
    for i in range(n):
        cells = [f"{age[i]:.3f}", f"{income[i]:.3f}", str(yes[i]), str(visits[i])]
        lines.append(",".join(blank(rng, cells, missing)))
    path.write_text("\n".join(lines) + "\n")
    return path, z


def test_auto_infers_families_prints_them_and_fits_with_missing_cells(tmp_path):
    data, z = _survey(tmp_path / "survey.csv")
    model_path = tmp_path / "m.emk"
    result = run("fit", data, "--family", "auto", "-k", "2", "--missing", "marginalize",
                 "--seed", "0", "--out", model_path, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    # the inferred table goes to standard error before fitting
    err = result.stderr
    for column, family in (("age", "gaussian"), ("income", "gaussian"), ("smoker", "bernoulli"),
                           ("visits", "poisson")):
        line = next(ln for ln in err.splitlines() if f" {column} " in f" {ln} ")
        assert family in line, err
    assert "--column-family visits=gaussian overrides" in err.replace("\n", " ").replace("  ", " ") \
        or "overrides" in err
    out = json.loads(result.stdout)
    assert out["estimator"] == "MixedMixture"
    assert [b["family"] for b in out["blocks"]] == ["gaussian", "bernoulli", "poisson"]
    model = load(model_path)
    assert model.missing == "marginalize"
    # predict on the incomplete rows recovers the two groups
    pred = run("predict", model_path, data)
    assert pred.exit_code == 0, pred.stderr
    labels = np.array([int(v) for v in pred.stdout.split()[1:]])
    agree = max(np.mean(labels == z), np.mean(labels != z))
    assert labels.shape == (300,) and agree > 0.95
    score = run("score", model_path, data, "--json")
    assert score.exit_code == 0, score.stderr
    assert np.isfinite(json.loads(score.stdout)["log_likelihood"])


def test_column_family_overrides_and_errors(tmp_path):
    data, _ = _survey(tmp_path / "survey.csv", missing=0.0)
    result = run("fit", data, "--family", "auto", "-k", "2", "--seed", "0",
                 "--column-family", "visits=gaussian", "--json")
    assert result.exit_code == 0, result.stderr
    blocks = json.loads(result.stdout)["blocks"]
    assert blocks[0]["family"] == "gaussian" and blocks[0]["columns"] == [0, 1, 3]
    bad = run("fit", data, "--family", "auto", "--column-family", "height=gaussian")
    assert bad.exit_code == 2 and "no column 'height'" in bad.stderr
    bad = run("fit", data, "--family", "auto", "--column-family", "visits=weibull")
    assert bad.exit_code == 2 and "family must be one of" in bad.stderr
    bad = run("fit", data, "--family", "gaussian", "--column-family", "visits=gaussian")
    assert bad.exit_code == 2 and "--family auto only" in bad.stderr


def test_missing_cells_error_by_default_and_drop(tmp_path):
    data, _ = _survey(tmp_path / "survey.csv")
    bad = run("fit", data, "--family", "auto", "-k", "2")
    assert bad.exit_code == 2 and "missing" in bad.stderr and "Traceback" not in bad.stderr
    ok = run("fit", data, "--family", "auto", "-k", "2", "--missing", "drop", "--seed", "0", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["n_samples"] < 300


def test_entirely_missing_column_is_named(tmp_path):
    path = tmp_path / "empty.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,c"] + [f"{rng.normal():.3f},{rng.integers(0, 2)}," for _ in range(50)]
    path.write_text("\n".join(rows) + "\n")
    bad = run("fit", path, "--family", "auto", "-k", "2", "--missing", "marginalize")
    assert bad.exit_code == 2
    assert "column 'c' is entirely missing" in bad.stderr


@pytest.mark.parametrize("values, family", [([0.0, 1.0, np.nan, 1.0], "bernoulli"),
                                            ([0.0, 3.0, 7.0, np.nan], "poisson"),
                                            ([0.5, 3.0, -1.0, 2.0], "gaussian"),
                                            ([-1.0, 2.0, 3.0, 4.0], "gaussian")])
def test_inference_rules(values, family):
    from emkit.cli.columns import infer_family

    assert infer_family(np.array(values)) == family
