"""Every candidate's BIC, AIC and ICL; the ICL grid of ``emkit select``; the per-model plot."""

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

import emkit
from emkit import plotting
from emkit.datasets import load_faithful
from emkit.families._mclust_models import MODEL_NAMES
from emkit.plotting.diagnostics import MODEL_COLOURS
from emkit.selection import select_model
from test_cli import ok, run, write_csv

FIX = Path(__file__).parent / "fixtures" / "mclust_models"


@pytest.fixture(scope="module")
def table():
    X = load_faithful()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, table = select_model(X, n_components=range(1, 4), covariance_types=("EII", "VVE", "VVV"),
                                random_state=0)
    return X, table


def test_every_row_has_all_three_criteria_of_its_model(table):
    X, rows = table
    for r in rows:
        m = r["model"]
        assert r["bic"] == pytest.approx(m.bic(X), rel=1e-12)
        assert r["aic"] == pytest.approx(m.aic(X), rel=1e-12)
        assert r["icl"] == pytest.approx(m.icl(X), rel=1e-12)
        assert r["value"] == r["bic"]
        # ICL adds twice the classification entropy to BIC: never below it
        assert r["icl"] >= r["bic"] - 1e-9


def test_plot_lines_are_the_table(table):
    _, rows = table
    ax = plotting.plot_model_criterion(rows, ax=Figure().add_subplot())
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["EII", "VVE", "VVV"]
    for ln in lines:
        mine = sorted((r for r in rows if r["covariance_type"] == ln.get_label()),
                      key=lambda r: r["n_components"])
        np.testing.assert_array_equal(ln.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(ln.get_ydata(), [-r["bic"] for r in mine])
        assert to_rgba(ln.get_color()) == to_rgba(MODEL_COLOURS[ln.get_label()])
    assert "higher is better" in ax.get_ylabel()
    lo, hi = ax.get_xlim()  # the K range 1 .. 3 with matplotlib's margins, no empty stretch
    assert 0.8 < lo < 1 and 3 < hi < 3.2
    ax = plotting.plot_model_criterion(rows, ax=Figure().add_subplot(), mclust_sign=False)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(),
                                  [r["bic"] for r in rows if r["covariance_type"] == "EII"])


def test_plot_draws_mclusts_own_bic_table_with_gaps():
    """A table in select_model's layout made from mclustBIC's numbers (emkit's sign):
    the plot's lines are mclust's table, a failed cell is a gap."""
    with open(FIX / "bic_faithful.csv", newline="") as fh:
        ref = list(csv.DictReader(fh))
    rows = [{"covariance_type": m, "n_components": int(r["G"]), "criterion": "bic",
             "value": -float(r[m]), "error": None, "degenerate": False}
            for m in MODEL_NAMES for r in ref]
    rows[5].update(value=None, error="singular covariance")
    rows[7]["degenerate"] = True
    ax = plotting.plot_model_criterion(rows, ax=Figure().add_subplot())
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == list(MODEL_NAMES)
    for ln in lines:
        m = ln.get_label()
        expect = np.array([float(r[m]) for r in ref])
        if m == MODEL_NAMES[0]:
            expect[5] = expect[7] = np.nan
        np.testing.assert_array_equal(ln.get_xdata(), [int(r["G"]) for r in ref])
        np.testing.assert_array_equal(ln.get_ydata(), expect)
    assert len({ln.get_marker() + str(ln.get_markerfacecolor()) for ln in lines}) == 14


def test_plot_refuses_an_empty_table():
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_model_criterion([], ax=Figure().add_subplot())


def test_select_prints_the_icl_grid_and_json_carries_every_criterion(tmp_path):
    X, names = load_faithful(return_names=True)
    data = write_csv(tmp_path / "f.csv", X, names)
    args = ("select", data, "-k", "1-2", "--covariance", "EII,VVV")
    out = json.loads(ok(run(*args, "--json")).stdout)
    cands = out["candidates"]
    assert all({"bic", "aic", "icl"} <= set(c) for c in cands)
    text = ok(run(*args)).stdout
    grid = text[text.index("ICL of every candidate"):]
    for k in (1, 2):
        line = next(ln for ln in grid.splitlines() if ln.strip("│ ").startswith(f"{k} "))
        cells = [c.strip() for c in line.strip("│").split("│")]
        want = [next(c["icl"] for c in cands if c["covariance_type"] == m and c["n_components"] == k)
                for m in ("EII", "VVV")]
        assert cells == [str(k)] + [f"{v:.2f}" for v in want]
    # choosing by ICL shows the BIC grid instead
    text = ok(run(*args, "--criterion", "icl")).stdout
    assert "BIC of every candidate" in text and "ICL of every candidate" not in text


def test_select_plot_draws_the_per_model_plot_of_the_candidates(tmp_path, monkeypatch):
    """emkit select --plot with mclust model names draws plot_model_criterion: one
    line per model whose points are minus the BIC of the JSON candidates; with
    scikit-learn names it keeps emkit's own criterion plot."""
    import emkit.plotting._common as common

    drawn = []
    save = common.save_png
    monkeypatch.setattr(common, "save_png", lambda fig, path, dpi: (drawn.append(fig),
                                                                      save(fig, path, dpi))[1])
    X, names = load_faithful(return_names=True)
    data = write_csv(tmp_path / "f.csv", X, names)
    png = tmp_path / "bic.png"
    out = json.loads(ok(run("select", data, "-k", "1-2", "--covariance", "EII,VEV",
                            "--json", "--plot", png)).stdout)
    assert png.stat().st_size > 0 and len(drawn) == 1
    ax = drawn[0].axes[0]
    assert ax.get_title() == "BIC of every model" and "higher is better" in ax.get_ylabel()
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["EII", "VEV"]
    for ln in lines:
        cells = sorted((c for c in out["candidates"] if c["covariance_type"] == ln.get_label()),
                       key=lambda c: c["n_components"])
        np.testing.assert_array_equal(ln.get_xdata(), [1, 2])
        np.testing.assert_allclose(ln.get_ydata(), [np.nan if c["degenerate"] else -c["bic"]
                                                    for c in cells], rtol=1e-12)
    ok(run("select", data, "-k", "1", "--covariance", "full", "--json", "--plot", png))
    assert drawn[1].axes[0].get_title() != "BIC of every model"
