"""String categories through the command line: fit -> model file -> predict -> sample, tables,
JSON and plots show the labels; unseen labels; text columns a family cannot take."""

import json

import numpy as np
import pytest

from _cli_helpers import blank, run, two_groups
from emkit import MixedMixture
from emkit._modelfile import dumps, load, loads
from emkit.exceptions import ModelFileError

COLOURS = ("blue", "green", "red")


def _survey(path, n=240, seed=0, missing=0.08):
    """id (text), age (real), colour (3 strings), smoker (yes/no), visits (counts), empty cells."""
    rng = np.random.default_rng(seed)
    z, age = two_groups(rng, n)
    colour = np.where(z, rng.choice(3, n, p=[0.7, 0.2, 0.1]), rng.choice(3, n, p=[0.1, 0.2, 0.7]))
    smoker = rng.random(n) < np.where(z, 0.85, 0.15)
    visits = rng.poisson(np.where(z, 1.0, 6.0))
    rows = []
    for i in range(n):
        cells = [f"{age[i]:.3f}", COLOURS[colour[i]], "yes" if smoker[i] else "no", str(visits[i])]
        rows.append([f"r{i:03d}"] + blank(rng, cells, missing))
    path.write_text("id,age,colour,smoker,visits\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path, rows


def _codes(rows):
    """The table as the model sees it, coded here independently: sorted labels, '' missing."""
    def code(cell, labels):
        return np.nan if cell == "" else float(labels.index(cell))

    return np.array([[np.nan if r[1] == "" else float(r[1]), code(r[2], COLOURS),
                      code(r[3], ("no", "yes")), np.nan if r[4] == "" else float(r[4])]
                     for r in rows])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("labels")
    data, rows = _survey(tmp / "survey.csv")
    model_path = tmp / "m.emk"
    result = run("fit", data, "--family", "auto", "-k", "2", "--missing", "marginalize",
                 "--id-column", "id", "--seed", "0", "--out", model_path)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return tmp, data, rows, model_path, result


def test_fit_infers_families_from_labels_and_keeps_them_in_the_model(fitted):
    tmp, data, rows, model_path, result = fitted
    err = " ".join(result.stderr.split())
    assert "colour │ categorical │ 3 distinct strings (blue, green, red)" in err
    assert "smoker │ bernoulli │ two distinct strings (no, yes)" in err
    model = load(model_path)
    assert model.feature_names_ == ["age", "colour", "smoker", "visits"]  # id is not a feature
    assert model.feature_levels_ == {"colour": list(COLOURS), "smoker": ["no", "yes"]}
    # the fit equals a MixedMixture fitted in Python on the codes made here
    X = _codes(rows)
    ref = MixedMixture(2, blocks=[("gaussian", [0]), ("categorical", [1], {"n_categories": 3}),
                                  ("bernoulli", [2]), ("poisson", [3])],
                       missing="marginalize", random_state=0).fit(X)
    np.testing.assert_allclose(model.score_samples(X), ref.score_samples(X), atol=1e-8)
    # the table shows each label's probability per component: the model's own
    out = " ".join(result.stdout.split())
    probs = model.b1_probs_[:, 0, :]
    for c, label in enumerate(COLOURS):
        cells = " │ ".join(f"{p:.3g}" for p in probs[:, c])
        assert f"│ {label} │ {cells} │" in out, out


def test_predict_and_json_use_the_labels(fitted):
    tmp, data, rows, model_path, _ = fitted
    model = load(model_path)
    pred = run("predict", model_path, data)
    assert pred.exit_code == 0, pred.stderr
    assert pred.stdout.split()[0] == "label"
    labels = [int(v) for v in pred.stdout.split()[1:]]
    np.testing.assert_array_equal(labels, model.predict(_codes(rows)))
    # rows in another order with the labels spelled the same are coded the same
    shuffled = tmp / "shuffled.csv"
    order = np.random.default_rng(1).permutation(len(rows))
    shuffled.write_text("visits,smoker,colour,age\n" + "\n".join(
        ",".join([rows[i][4], rows[i][3], rows[i][2], rows[i][1]]) for i in order) + "\n")
    again = run("predict", model_path, shuffled)
    assert again.exit_code == 0, again.stderr
    got = [int(v) for v in again.stdout.split() if v.isdigit()]
    np.testing.assert_array_equal(got, np.asarray(labels)[order])
    shown = json.loads(run("inspect", model_path, "--json").stdout)
    assert shown["levels"] == {"colour": list(COLOURS), "smoker": ["no", "yes"]}
    for c, label in enumerate(COLOURS):
        np.testing.assert_allclose(shown["category_probabilities"]["colour"][label],
                                   model.b1_probs_[:, 0, c])
    np.testing.assert_allclose(shown["category_probabilities"]["smoker"]["yes"],
                               model.b2_probs_[:, 0])


def test_sample_writes_labels(fitted):
    tmp, data, rows, model_path, _ = fitted
    result = run("sample", model_path, "-n", "400", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "age,colour,smoker,visits"
    cells = [ln.split(",") for ln in lines[1:]]
    assert {c[1] for c in cells} == set(COLOURS)
    assert {c[2] for c in cells} == {"no", "yes"}
    assert all(c[3].isdigit() for c in cells) and all("." in c[0] for c in cells)
    # the sample reads back through the model's labels
    back = tmp / "sample.csv"
    back.write_text(result.stdout)
    assert run("score", model_path, back).exit_code == 0


def _predict_fails(model_path, path, rows):
    """Write the survey header and ``rows`` to ``path``; ``emkit predict`` must exit 2.
    Returns the path and the command's stderr."""
    path.write_text("age,colour,smoker,visits\n" + rows)
    result = run("predict", model_path, path)
    assert result.exit_code == 2, result.stdout
    return path, result.stderr


def test_unseen_label_is_an_error_or_missing(fitted, tmp_path):
    _, data, rows, model_path, _ = fitted
    new, stderr = _predict_fails(model_path, tmp_path / "new.csv", "31,red,yes,1\n50,purple,no,2\n")
    assert stderr.strip() == (
        f"emkit: error: {new}: category 'purple' in column 'colour', row 3 is not one of the 3 "
        "the model was fitted with ('blue', 'green', 'red'); correct the cell, or fit with "
        "--missing marginalize --unknown missing to treat an unseen category as a missing cell")
    model_path2 = tmp_path / "m2.emk"
    fit = run("fit", data, "--family", "auto", "-k", "2", "--missing", "marginalize",
              "--unknown", "missing", "--id-column", "id", "--seed", "0", "--out", model_path2)
    assert fit.exit_code == 0, fit.stderr
    model = load(model_path2)
    assert model.unknown_levels_ == "missing"
    pred = run("predict", model_path2, new, "--proba")
    assert pred.exit_code == 0, pred.stderr
    expected = model.predict_proba(np.array([[31, 2, 1, 1], [50, np.nan, 0, 2]]))
    got = np.array([[float(v) for v in ln.split(",")] for ln in pred.stdout.split()
                    if ln[0].isdigit()])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    bad = run("fit", data, "--family", "auto", "--unknown", "missing")
    assert bad.exit_code == 2 and "--unknown missing" in bad.stderr and "--missing marginalize" \
        in bad.stderr


def test_text_column_a_family_cannot_take_gets_a_hint(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("name,x,colour\n" + "\n".join(
        f"n{i},{i * 0.37 % 5:.2f},{COLOURS[i % 3]}" for i in range(30)) + "\n")
    result = run("fit", data)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "emkit: error: column 'name' holds text ('n0', 'n1', 'n10', 'n11', ... 30 labels), which "
        "the gaussian family does not model (--family auto or categorical does); choose the "
        "feature columns with --columns x (row ids go in the output with --id-column name)")
    ok = run("fit", data, "--id-column", "name", "--columns", "x")
    assert ok.exit_code == 0, ok.stderr
    # a numeric model does not take a text column at predict time either
    model_path = tmp_path / "g.emk"
    assert run("fit", data, "--columns", "x", "--out", model_path).exit_code == 0
    data2 = tmp_path / "u.csv"
    data2.write_text("x\nlow\nhigh\n")
    result = run("predict", model_path, data2)
    assert result.exit_code == 2
    assert "column 'x' holds text ('high', 'low'), but the model was fitted on numbers" in \
        result.stderr
    # a Bernoulli family takes two labels, not three; --column-family checks it too
    result = run("fit", data, "--family", "bernoulli", "--columns", "colour")
    assert result.exit_code == 2 and "which the bernoulli family does not model" in result.stderr
    result = run("fit", data, "--family", "auto", "--id-column", "name",
                 "--column-family", "colour=poisson")
    assert result.exit_code == 2
    assert "column 'colour' holds text (3 labels), which only categorical models" in result.stderr


def test_categorical_family_with_labels_counts_every_label(tmp_path):
    """A label seen only in dropped rows still has its category (so the model file holds it)."""
    data = tmp_path / "c.csv"
    data.write_text("a,b\nx,p\ny,q\nx,q\nz,\ny,p\n")
    model_path = tmp_path / "c.emk"
    result = run("fit", data, "--family", "categorical", "-k", "1", "--drop-missing",
                 "--out", model_path)
    assert result.exit_code == 0, result.stderr
    model = load(model_path)
    assert model.n_categories_ == 3 and model.feature_levels_ == {"a": ["x", "y", "z"],
                                                                   "b": ["p", "q"]}
    # one component: the probabilities are the shares of the kept rows (z only in a dropped row)
    np.testing.assert_allclose(model.probs_[0, 0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(model.probs_[0, 1], [0.5, 0.5, 0.0])


def test_model_file_checks_the_labels(fitted):
    _, _, _, model_path, _ = fitted
    model = load(model_path)
    cases = [
        ({"colour": ["blue", "blue", "red"]}, None, "names the label 'blue' twice"),
        ({"colour": ["a", "b", "c", "d"]}, None, "'colour' has 4 labels, but its categorical "
                                                  "component has 3 categories"),
        ({"smoker": ["no", "yes", "maybe"]}, None, "'smoker' has 3 labels, but its bernoulli"),
        ({"age": ["young", "old"]}, None, "feature 'age' has text labels, but its gaussian family"),
        ({"height": ["a"]}, None, "feature_levels_ names 'height', which is not a feature"),
        ({"colour": [1, 2, 3]}, None, "labels must be non-empty strings"),
        (None, "sometimes", "unknown_levels_ must be 'error' or 'missing'"),
    ]
    for levels, policy, message in cases:
        if levels is not None:
            model.feature_levels_ = levels
        if policy is not None:
            model.unknown_levels_ = policy
        with pytest.raises(ModelFileError, match=message):
            loads(dumps(model))
        model = load(model_path)
    model.set_params(missing="error")
    model.unknown_levels_ = "missing"
    with pytest.raises(ModelFileError, match="unknown_levels_='missing' needs a model with "
                                             "missing='marginalize'"):
        loads(dumps(model))


def test_plots_show_labels(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from emkit import BernoulliMixture, CategoricalMixture
    from emkit.plotting import plot_heatmap, plot_pmf

    rng = np.random.default_rng(0)
    X = np.c_[rng.integers(0, 3, 200), rng.integers(0, 2, 200)].astype(float)
    model = CategoricalMixture(2, random_state=0).fit(X)
    ax = plot_pmf(model, X, feature=0, ax=Figure().add_subplot(), feature_names=["colour", "s"],
                  levels=COLOURS)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(COLOURS)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, np.bincount(X[:, 0].astype(int)) / 200)
    assert ax.get_xlabel() == "colour"
    # a two-label feature in a heatmap: the cell is P(label of code 1)
    bm = BernoulliMixture(2, random_state=0).fit(X[:, 1:])
    ax = plot_heatmap(bm, ax=Figure().add_subplot(), feature_names=["smoker"],
                      levels={0: ("no", "yes")})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["smoker = yes"]
    np.testing.assert_allclose(ax.images[0].get_array(), bm.probs_)
    # from the command line
    data = tmp_path / "c.csv"
    data.write_text("colour\n" + "\n".join(COLOURS[int(v)] for v in X[:, 0]) + "\n")
    png = tmp_path / "c.png"
    result = run("fit", data, "--family", "categorical", "-k", "2", "--seed", "0", "--plot", png)
    assert result.exit_code == 0, result.stderr
    assert png.stat().st_size > 0


def test_single_panel_legends_sit_outside_the_axes():
    """Legends never cover data: every single-panel plot puts its legend right of the axes."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from emkit import GaussianMixture, PoissonMixture, plotting

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))]
    gm = GaussianMixture(2, random_state=0).fit(X)
    counts = rng.poisson(3.0, (100, 1)).astype(float)
    pm = PoissonMixture(2, random_state=0).fit(counts)
    draws = [lambda ax: plotting.plot_density_1d(gm, X, ax=ax),
             lambda ax: plotting.plot_clusters_2d(gm, X, ax=ax),
             lambda ax: plotting.plot_uncertainty(gm, X, ax=ax),
             lambda ax: plotting.plot_density_2d(gm, X, ax=ax),
             lambda ax: plotting.plot_pmf(pm, counts, ax=ax)]
    for draw in draws:
        fig = Figure(figsize=(10, 6))
        ax = fig.add_subplot()
        draw(ax)
        fig.tight_layout()
        fig.canvas.draw()
        legend = ax.get_legend().get_window_extent()
        box = ax.get_window_extent()
        assert legend.x0 >= box.x1  # entirely right of the axes
        assert legend.x1 <= fig.bbox.x1 + 1  # and inside the figure after tight_layout


def test_auto_fit_draws_every_column(fitted, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    _, data, _, _, _ = fitted
    png = tmp_path / "auto.png"
    result = run("fit", data, "--family", "auto", "-k", "2", "--missing", "marginalize",
                 "--id-column", "id", "--seed", "0", "--plot", png)
    assert result.exit_code == 0, result.stderr
    img = imread(png)
    assert img.shape[:2] == (900, 1200)  # a 2 x 2 grid: age, colour, smoker, visits


def test_a_bad_cell_of_a_block_is_named_by_its_column(fitted, tmp_path):
    """A block's family counts its own columns; the message names the table's column."""
    _, _, _, model_path, _ = fitted
    _, stderr = _predict_fails(model_path, tmp_path / "neg.csv", "30,red,yes,1\n50,red,no,-1\n")
    assert "-1 in column 'visits', row 3 is negative" in stderr


def test_select_keeps_the_labels(tmp_path):
    data = tmp_path / "c.csv"
    rng = np.random.default_rng(4)
    codes = np.c_[rng.integers(0, 3, 60), rng.integers(0, 2, 60)]
    data.write_text("id,a,b\n" + "\n".join(
        f"r{i},{COLOURS[a]},{('no', 'yes')[b]}" for i, (a, b) in enumerate(codes)))
    model_path = tmp_path / "s.emk"
    result = run("select", data, "--family", "categorical", "-k", "1-2", "--id-column", "id",
                 "--out", model_path)
    assert result.exit_code == 0, result.stderr
    model = load(model_path)
    assert model.feature_levels_ == {"a": list(COLOURS), "b": ["no", "yes"]}
    assert model.n_categories_ == 3
    pred = run("predict", model_path, data, "--id-column", "id")
    assert pred.exit_code == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "id,label"
    assert [ln.split(",")[0] for ln in lines[1:]] == [f"r{i}" for i in range(60)]
    np.testing.assert_array_equal([int(ln.split(",")[1]) for ln in lines[1:]],
                                  model.predict(codes.astype(float)))
