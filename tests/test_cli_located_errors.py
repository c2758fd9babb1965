"""Data errors name the file, the 1-based file row and the column, the same way
for the reader's errors and for the families' checks; select takes --categories."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emkit import cli
from emkit.io import data_row_lines

runner = CliRunner()


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args])


def fails(result, *parts):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if not x.startswith("warning: ")]
    if "families by column" in result.stderr:  # --family auto's table comes first
        errors = [x for x in errors if x.startswith("emkit: ")]
    assert len(errors) == 1, result.stderr
    line = errors[0]
    for part in parts:
        assert part in line, line
    for python in ("X[", "n_categories", "n_trials", "Mixture ", "drop_missing", "(row ",
                   "n_components", "blocks[", "missing='", "unknown='"):
        assert python not in line, line
    return line


# the bad cell is in column 'b' on file line 5: header, two rows, a blank line, the row
TABLE = "a,b\n1,1\n0,1\n\n1,{bad}\n0,0\n"


@pytest.mark.parametrize("family, bad, extra, expected", [
    ("poisson", "-1", [], "-1 in column 'b', row 5 is negative"),
    ("poisson", "1.5", [], "1.5 in column 'b', row 5"),
    ("bernoulli", "2", [], "--family bernoulli needs the data in {0, 1}; 2 in column 'b', row 5"),
    ("categorical", "3", ["--categories", 2], "category code 3 in column 'b', row 5 is not below --categories 2"),
    ("binomial", "4", ["--trials", 2], "successes exceed trials: 4 in column 'b', row 5 but the number of trials is 2"),
    ("gaussian", "1e300", [], "1e+300 in column 'b', row 5 is beyond"),
])
def test_family_checks_name_file_row_and_column(tmp_path, family, bad, extra, expected):
    path = tmp_path / "t.csv"
    path.write_text(TABLE.format(bad=bad))
    fails(run("fit", path, "--family", family, *extra), f"{path}: ", expected)


@pytest.mark.parametrize("options, bad, expected", [
    (["--family", "binomial", "--trials-column", "t"], "2.5",
     "the number of trials must hold non-negative integers; 2.5 in column 't', row 5"),
    (["--family", "binomial", "--trials-column", "t"], "-2",
     "the number of trials must hold non-negative integers; -2 in column 't', row 5"),
    (["--family", "poisson", "--weights-column", "t"], "-2",
     "the row weights must be non-negative; -2 in column 't', row 5"),
])
def test_trials_and_weights_columns_name_file_row_and_column(tmp_path, options, bad, expected):
    path = tmp_path / "t.csv"
    path.write_text("a,t\n1,3\n0,3\n\n1,{bad}\n0,3\n".format(bad=bad))
    line = fails(run("fit", path, *options), f"{path}: ", expected)
    assert "sample_weight" not in line

def test_reader_errors_use_the_same_words(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TABLE.format(bad=""))
    fails(run("fit", path), f"{path}: ", "column 'b', row 5 (missing or NaN)", "--drop-missing")
    path.write_text(TABLE.format(bad="x"))
    fails(run("fit", path), f"{path}: non-numeric value 'x' in column 'b', row 5")


def test_auto_models_labels_and_options_use_the_same_words(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("g,c,n\n1.5,red,1\n2.5,blue,2\n\n3.1,red,-2\n0.5,blue,0\n")
    fails(run("fit", path, "--family", "auto", "--column-family", "n=poisson"), f"{path}: ",
          "-2 in column 'n', row 5 is negative")
    fails(run("fit", path, "--columns", "g", "-k", 9),
          "--components 9 is larger than the number of samples (4)")
    model, new = tmp_path / "m.emk", tmp_path / "new.csv"
    path.write_text("g,c,n\n1.5,red,1\n2.5,blue,2\n3.1,red,2\n0.5,blue,0\n")
    assert run("fit", path, "--family", "auto", "--out", model).exit_code == 0
    new.write_text("g,c,n\n1,red,1\n2,green,1\n")
    fails(run("predict", model, new), f"{new}: category 'green' in column 'c', row 3",
          "--missing marginalize --unknown missing")


def test_predict_names_the_row_of_the_new_file(tmp_path):
    train, new, model = tmp_path / "train.csv", tmp_path / "new.csv", tmp_path / "m.emkit"
    rng = np.random.default_rng(0)
    np.savetxt(train, rng.poisson(3, (40, 2)), delimiter=",", header="a,b", comments="", fmt="%d")
    assert run("fit", train, "--family", "poisson", "--out", model).exit_code == 0
    new.write_text("b,a\n1,2\n3,-4\n")  # columns picked by name: 'a' is the model's first
    fails(run("predict", model, new), f"{new}: ", "-4 in column 'a', row 3 is negative")


def test_dropped_rows_say_which_rows_they_count(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,\n1,2\n1,-3\n")
    fails(run("fit", path, "--family", "poisson", "--drop-missing"),
          "-3 in column 'b', data row 2 of those kept by --drop-missing")


def test_stdin_rows_count_from_one():
    res = runner.invoke(cli.app, ["fit", "-", "--family", "poisson"], input="a\n1\n2\n-5\n")
    fails(res, "-: ", "-5 in column 'a', row 3")


def test_data_row_lines(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("a,b\n\n1,2\n3,4\n\n\n5,6\n")
    assert data_row_lines(p).tolist() == [3, 4, 7]
    p = tmp_path / "n.tsv"
    p.write_text("1\t2\n3\t4\n")
    assert data_row_lines(p).tolist() == [1, 2]
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    assert data_row_lines(tmp_path / "x.npy") is None


def test_select_takes_categories(tmp_path):
    path = tmp_path / "c.csv"
    rng = np.random.default_rng(1)
    np.savetxt(path, rng.integers(0, 3, (60, 2)), delimiter=",", header="a,b", comments="",
               fmt="%d")
    res = run("select", path, "--family", "categorical", "--categories", 5, "-k", "1-2", "--json")
    assert res.exit_code == 0, res.stderr
    best = json.loads(res.stdout)["best"]["model"]
    assert best["n_categories"] == 5 and np.shape(best["probs"])[2] == 5
    assert np.allclose(np.asarray(best["probs"])[:, :, 3:], 0.0, atol=1e-6)  # never seen
    fails(run("select", path, "--family", "poisson", "--categories", 5),
          "--categories applies to the categorical family only")
