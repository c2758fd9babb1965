"""``emkit predict`` writes CSV with a header (id, then label or a column per component);
predict and score pick DATA's columns by the feature names the model keeps."""

import csv
import io
import json

import numpy as np
import pytest

from _cli_helpers import ok, run
from emkit._modelfile import load


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(5, 1, (40, 2))]
    data = tmp / "d.csv"
    data.write_text("name,a,b,code\n" + "\n".join(
        f"item {i},{x[0]:.6f},{x[1]:.6f},{1000 + i}" for i, x in enumerate(X)) + "\n")
    model_path = tmp / "m.emk"
    ok(run("fit", data, "--columns", "a,b", "-k", "2", "--seed", "0", "--out", model_path))
    return tmp, data, np.round(X, 6), model_path


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_labels_and_probabilities_with_a_header(fitted):
    tmp, data, X, model_path = fitted
    model = load(model_path)
    rows = _rows(ok(run("predict", model_path, data)).stdout)
    assert rows[0] == ["label"]
    np.testing.assert_array_equal([int(r[0]) for r in rows[1:]], model.predict(X))
    out = tmp / "p.csv"
    ok(run("predict", model_path, data, "--proba", "--out", out))
    rows = _rows(out.read_text())
    assert rows[0] == ["component_0", "component_1"]
    np.testing.assert_allclose(np.array(rows[1:], dtype=float), model.predict_proba(X),
                               rtol=1e-5, atol=1e-12)


def test_id_column_is_carried_into_the_output(fitted, tmp_path):
    tmp, data, X, model_path = fitted
    model = load(model_path)
    rows = _rows(ok(run("predict", model_path, data, "--id-column", "name")).stdout)
    assert rows[0] == ["name", "label"]
    assert [r[0] for r in rows[1:]] == [f"item {i}" for i in range(80)]
    np.testing.assert_array_equal([int(r[1]) for r in rows[1:]], model.predict(X))
    # a numeric id is written as it reads, with --proba
    rows = _rows(ok(run("predict", model_path, data, "--id-column", "code", "--proba")).stdout)
    assert rows[0] == ["code", "component_0", "component_1"]
    assert [r[0] for r in rows[1:]] == [str(1000 + i) for i in range(80)]
    # dropped rows take their ids with them
    holes = tmp_path / "holes.csv"
    lines = data.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], "")  # empty 'a' in item 2
    holes.write_text("\n".join(lines) + "\n")
    res = ok(run("predict", model_path, holes, "--id-column", "name", "--drop-missing"))
    rows = _rows(res.stdout)
    assert [r[0] for r in rows[1:]] == [f"item {i}" for i in range(80) if i != 2]
    assert "dropped 1 of 80 rows" in res.stderr
    # ids in a quoted cell stay one cell
    quoted = tmp_path / "q.csv"
    quoted.write_text('id,a,b\n"x, 1",0.1,0.2\n"y ""2""",5,5\n')
    rows = _rows(ok(run("predict", model_path, quoted, "--id-column", "id")).stdout)
    assert [r[0] for r in rows[1:]] == ["x, 1", 'y "2"']
    res = run("predict", model_path, data, "--id-column", "name", "--out", tmp_path / "p.npy")
    assert res.exit_code == 2 and "a .npy file holds numbers only" in res.stderr
    res = run("predict", model_path, data, "--id-column", "nope")
    assert res.exit_code == 2 and "--id-column: no column 'nope'" in res.stderr


def test_numeric_ids_come_back_as_written(fitted, tmp_path):
    """A numeric id column is read as text: leading zeros, signs, decimals and exponents stay
    as in the file (with --columns, --drop-missing, a ';' file with decimal commas, --proba)."""
    tmp, data, X, model_path = fitted
    model = load(model_path)
    ids = ["00123", "007", "+5", "1.50", "1e3", "0008"]
    rows = [[ids[i], f"{X[i, 0]:.6f}", f"{X[i, 1]:.6f}"] for i in range(6)]
    zeros = tmp_path / "zeros.csv"
    zeros.write_text("id,a,b\n" + "\n".join(",".join(r) for r in rows) + "\n")
    out = _rows(ok(run("predict", model_path, zeros, "--id-column", "id")).stdout)
    assert out[0] == ["id", "label"]
    assert [r[0] for r in out[1:]] == ids
    np.testing.assert_array_equal([int(r[1]) for r in out[1:]], model.predict(X[:6]))
    out = _rows(ok(run("predict", model_path, zeros, "--id-column", "id", "--columns", "a,b",
                       "--proba")).stdout)
    assert [r[0] for r in out[1:]] == ids
    # a row dropped for a missing feature takes its id with it
    rows[2][1] = ""
    semi = tmp_path / "semi.csv"
    semi.write_text("b;id;a\n" + "\n".join(
        f"{b.replace('.', ',')};{i};{a.replace('.', ',')}" for i, a, b in rows) + "\n")
    res = ok(run("predict", model_path, semi, "--id-column", "id", "--drop-missing",
                 "--delimiter", ";", "--decimal", ","))
    out = _rows(res.stdout)
    assert [r[0] for r in out[1:]] == [i for k, i in enumerate(ids) if k != 2]
    assert "dropped 1 of 6 rows" in res.stderr

def test_columns_are_picked_by_the_model_feature_names(fitted, tmp_path):
    _, _, X, model_path = fitted
    model = load(model_path)
    other = tmp_path / "o.csv"
    other.write_text("b,note,a\n" + "\n".join(f"{x[1]},n{i},{x[0]}" for i, x in enumerate(X)) + "\n")
    rows = _rows(ok(run("predict", model_path, other)).stdout)
    np.testing.assert_array_equal([int(r[0]) for r in rows[1:]], model.predict(X))
    score = json.loads(ok(run("score", model_path, other, "--json")).stdout)
    np.testing.assert_allclose(score["log_likelihood"], model.score(X) * len(X), rtol=1e-10)
    lacking = tmp_path / "l.csv"
    lacking.write_text("a,c\n1,2\n3,4\n")
    res = run("predict", model_path, lacking)
    assert res.exit_code == 2
    assert f"{lacking}: has no column 'b'; the model was fitted on a, b" in res.stderr
    # a text column among the features of a numeric model: a hint naming it
    res = run("fit", other)
    assert res.exit_code == 2
    assert "column 'note' holds text" in res.stderr and "--columns b,a" in res.stderr
