"""The ``emkit`` command line, run as a user would: exit codes, outputs and files."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from emkit import cli
from emkit.cli import progress
from emkit._modelfile import load
from emkit.datasets import load_faithful

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(cli.app, [str(a) for a in args], input=input)


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def write_csv(path, X, names):
    fmt = "%d" if np.all(X == np.rint(X)) else "%.10g"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt=fmt)
    return path


@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory):
    X, names = load_faithful(return_names=True)
    return write_csv(tmp_path_factory.mktemp("data") / "faithful.csv", X, names)


def discrete_data(family, n=120, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.random(n) < 0.5
    if family == "bernoulli":
        return (rng.random((n, 3)) < np.where(z, 0.85, 0.15)[:, None]).astype(float)
    if family == "binomial":
        return rng.binomial(10, np.where(z, 0.2, 0.8)[:, None], (n, 2)).astype(float)
    if family == "poisson":
        return rng.poisson(np.where(z, 1.5, 8.0)[:, None], (n, 2)).astype(float)
    if family == "categorical":
        return np.where(z[:, None], rng.integers(0, 2, (n, 2)), rng.integers(2, 4, (n, 2))).astype(float)
    raise AssertionError(family)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "binomial", "poisson", "categorical"])
def test_fit_save_load_predict_round_trip(tmp_path, faithful_csv, family):
    if family == "gaussian":
        data = faithful_csv
        X, names = load_faithful(return_names=True)
        extra = ["--covariance", "diag"]
    else:
        X = discrete_data(family)
        names = [f"f{j}" for j in range(X.shape[1])]
        data = write_csv(tmp_path / "d.csv", X, names)
        extra = ["--trials", "10"] if family == "binomial" else []
    model_path = tmp_path / "m.emkit"
    res = ok(run("fit", data, "-k", 2, "--family", family, "--seed", 0, "--out", model_path,
                 "--json", *extra))
    info = json.loads(res.stdout)
    assert info["family"] == family and info["n_components"] == 2
    assert info["feature_names"] == names and info["n_samples"] == X.shape[0]
    assert np.isclose(sum(info["weights"]), 1.0)
    assert "saved the model" in res.stderr

    model = load(model_path)
    kw = {"n_trials": 10} if family == "binomial" else {}
    lines = ok(run("predict", model_path, data)).stdout.split()
    assert lines[0] == "label"
    labels = [int(v) for v in lines[1:]]
    assert labels == model.predict(X, **kw).tolist()

    ok(run("predict", model_path, data, "--proba", "--out", tmp_path / "p.npy"))
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict_proba(X, **kw))

    score = json.loads(ok(run("score", model_path, data, "--json")).stdout)
    assert score["mean_log_likelihood"] == pytest.approx(model.score(X, **kw), rel=1e-12)
    assert score["bic"] == pytest.approx(model.bic(X, **kw), rel=1e-12)

    shown = json.loads(ok(run("inspect", model_path, "--json")).stdout)
    np.testing.assert_allclose(shown["weights"], model.weights_)
    assert "component" in ok(run("inspect", model_path)).stdout

    lines = ok(run("sample", model_path, "-n", 15, "--seed", 1, "--labels")).stdout.splitlines()
    assert lines[0] == ",".join(names + ["component"]) and len(lines) == 16
    drawn = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert drawn.shape == (15, X.shape[1] + 1)


def test_fit_table_output_and_plot(tmp_path, faithful_csv):
    png = tmp_path / "fit.png"
    res = ok(run("fit", faithful_csv, "-k", 2, "--seed", 0, "--plot", png))
    assert "GaussianMixture" in res.stdout and "mean eruptions" in res.stdout
    assert "converged" in res.stdout
    from matplotlib.image import imread

    img = imread(png)
    assert img.shape[:2] == (600, 1000) and img[..., :3].std() > 0.05


def test_binomial_trials_column_and_weights_column(tmp_path):
    rng = np.random.default_rng(3)
    n = 150
    trials = rng.integers(5, 15, n)
    z = rng.random(n) < 0.5
    succ = rng.binomial(trials, np.where(z, 0.2, 0.75))
    w = rng.integers(1, 3, n)
    data = write_csv(tmp_path / "b.csv", np.c_[succ, trials, w].astype(float), ["hits", "n", "w"])
    out = tmp_path / "b.emkit"
    res = ok(run("fit", data, "--family", "binomial", "--trials-column", "n", "--weights-column", "w",
                 "--seed", 0, "--out", out, "--json"))
    assert json.loads(res.stdout)["feature_names"] == ["hits"]
    model = load(out)
    labels = [int(v) for v in ok(run("predict", out, data, "--trials-column", "n")).stdout.split()[1:]]
    assert labels == model.predict(succ[:, None].astype(float), n_trials=trials).tolist()
    res = run("predict", out, data)
    assert res.exit_code == 2 and "--trials-column" in res.stderr


def test_csv_on_stdin_and_column_choice(tmp_path, faithful_csv):
    text = faithful_csv.read_text()
    res = ok(run("fit", "-", "-k", 2, "--columns", "waiting", "--seed", 0, "--json", input=text))
    info = json.loads(res.stdout)
    assert info["feature_names"] == ["waiting"] and info["n_features"] == 1


def test_select_json(tmp_path, faithful_csv):
    out, png = tmp_path / "best.emkit", tmp_path / "crit.png"
    res = ok(run("select", faithful_csv, "--components", "1-3", "--covariance", "full,diag",
                 "--seed", 0, "--json", "--out", out, "--plot", png))
    info = json.loads(res.stdout)
    best = info["best"]
    assert best["covariance_type"] in ("full", "diag") and best["n_components"] in (1, 2, 3)
    assert len(info["candidates"]) == 6
    assert all({"covariance_type", "n_components", "value", "best"} <= set(c) for c in info["candidates"])
    chosen = [c for c in info["candidates"] if c["best"]]
    assert len(chosen) == 1 and chosen[0]["value"] == min(c["value"] for c in info["candidates"])
    model = load(out)
    assert (model.covariance_type, model.n_components) == (best["covariance_type"], best["n_components"])
    assert png.stat().st_size > 0


@pytest.fixture(scope="module")
def library_selection():
    """emkit.select_model at its defaults, seeded as the command line seeds by default."""
    import emkit

    return emkit.select_model(load_faithful(), random_state=0)


def test_select_defaults_match_library(faithful_csv, library_selection):
    res = ok(run("select", faithful_csv, "--json"))
    info = json.loads(res.stdout)
    assert info["seed"] == 0 and "seed 0" in res.stderr
    best, table = library_selection
    row = next(r for r in table if r["best"])
    assert (info["best"]["covariance_type"], info["best"]["n_components"]) == (
        best.covariance_type, best.n_components) == ("tied", 3)
    assert info["best"]["value"] == pytest.approx(row["value"], rel=1e-12)
    # the same grid as the library's defaults: 1..9 components x four covariance types
    assert [(c["covariance_type"], c["n_components"]) for c in info["candidates"]] == [
        (r["covariance_type"], r["n_components"]) for r in table]
    assert len(table) == 36
    assert all({"start", "monotone"} <= set(c) for c in info["candidates"])
    text = ok(run("select", faithful_csv)).stdout
    assert "seed 0" in text


def test_select_table_notes_a_fall_in_k(library_selection):
    from rich.console import Console

    from emkit.cli.views import _select_table

    rows = [dict(r) for r in library_selection[1][:3]]
    rows[2]["monotone"] = False
    console = Console(width=200, record=True)
    console.print(_select_table(rows))
    lines = console.export_text().splitlines()
    marked = [ln for ln in lines if "below one component fewer" in ln]
    assert len(marked) == 1 and f"{rows[2]['log_likelihood']:.2f}"[:6] in marked[0]


def test_select_table_marks_best(faithful_csv):
    res = ok(run("select", faithful_csv, "-k", "1,2", "--covariance", "tied", "--criterion", "aic",
                 "--seed", 0))
    assert "best" in res.stdout and "AIC" in res.stdout


def test_select_discrete_family(tmp_path):
    X = discrete_data("poisson")
    data = write_csv(tmp_path / "p.csv", X, ["a", "b"])
    info = json.loads(ok(run("select", data, "--family", "poisson", "-k", "1-3", "--seed", 0,
                             "--json")).stdout)
    assert info["best"]["covariance_type"] is None and len(info["candidates"]) == 3


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("demo") / "demo"
    return out_dir, ok(run("demo", "--out-dir", out_dir))


def test_demo_end_to_end(demo_run):
    from matplotlib.image import imread

    out_dir, res = demo_run
    assert "GaussianMixture" in res.stdout and "BIC" in res.stdout
    assert str(out_dir.resolve()) in res.stdout
    for name in ("clusters.png", "history.png", "criterion.png", "density_eruptions.png",
                 "density_waiting.png"):
        img = imread(out_dir / name)
        assert img.shape[:2] == (600, 1000) and img[..., :3].std() > 0.05, name
    model = load(out_dir / "model.emkit")
    assert "seed 0" in res.stdout
    assert not list(out_dir.glob(".*"))  # no temporary files left


def test_demo_matches_select(demo_run, library_selection):
    """emkit demo gives the answer of emkit select and select_model at their shared defaults."""
    model = load(demo_run[0] / "model.emkit")
    best, _ = library_selection
    X = load_faithful()
    assert (model.covariance_type, model.n_components) == (best.covariance_type, best.n_components)
    assert model.bic(X) == pytest.approx(best.bic(X), rel=1e-12)


def test_interrupt_saves_partial_model_and_exits_130(tmp_path, faithful_csv, monkeypatch):
    def hook(info):
        if info["iteration"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress, "_iteration_hook", hook)
    out = tmp_path / "partial.emkit"
    res = run("fit", faithful_csv, "-k", 3, "--tol", 0, "--max-iter", 500, "--seed", 0, "--out", out)
    assert res.exit_code == 130
    assert "interrupted" in res.stderr and "did not converge" in res.stderr
    assert "Traceback" not in res.stderr
    model = load(out)
    assert model.interrupted_ and not model.converged_ and model.n_iter_ == 2


# -------------------------------------------------------------------- bad input
@pytest.fixture
def bad_files(tmp_path, faithful_csv):
    files = {
        "empty": tmp_path / "empty.csv",
        "header": tmp_path / "header.csv",
        "nonnum": tmp_path / "nonnum.csv",
        "nan": tmp_path / "nan.csv",
        "notemkit": tmp_path / "notemkit.emkit",
    }
    files["empty"].write_text("")
    files["header"].write_text("a,b\n")
    files["nonnum"].write_text("a,b\n1,2\n3,oops\n5,6\n")
    files["nan"].write_text("a,b\n1,2\n3,nan\n5,inf\n7,8\n2,2\n4,1\n")
    files["notemkit"].write_text("just some text\n")
    good = tmp_path / "good.emkit"
    ok(run("fit", faithful_csv, "-k", 2, "--seed", 0, "--out", good))
    blob = good.read_bytes()
    files["truncated"] = tmp_path / "truncated.emkit"
    files["truncated"].write_bytes(blob[: len(blob) // 2])
    tampered = bytearray(blob)
    tampered[len(blob) // 2] ^= 0xFF
    files["tampered"] = tmp_path / "tampered.emkit"
    files["tampered"].write_bytes(bytes(tampered))
    files["data"] = faithful_csv
    files["out"] = tmp_path / "out.emkit"
    files["out"].write_bytes(b"previous contents")
    return files


BAD_CASES = {
    "missing file": (["fit", "{tmp}/nope.csv", "--out", "{out}"], "no such file"),
    "empty file": (["fit", "{empty}", "--out", "{out}"], "empty"),
    "header only": (["fit", "{header}", "--out", "{out}"], "no data rows"),
    "non-numeric cell": (["fit", "{nonnum}", "--out", "{out}"], "'oops'"),
    "nan and inf": (["fit", "{nan}", "--out", "{out}"], "--drop-missing"),
    "unknown column": (["fit", "{data}", "--columns", "nope", "--out", "{out}"], "eruptions"),
    "unknown family": (["fit", "{data}", "--family", "weibull", "--out", "{out}"], "weibull"),
    "unknown covariance": (["fit", "{data}", "--covariance", "round", "--out", "{out}"], "round"),
    "bad components": (["fit", "{data}", "-k", "0", "--out", "{out}"], "--components"),
    "select covariance": (["select", "{data}", "--covariance", "full,oval", "--out", "{out}"], "oval"),
    "select components": (["select", "{data}", "--components", "3-1", "--out", "{out}"], "--components"),
    "select criterion": (["select", "{data}", "--criterion", "dic", "--out", "{out}"], "dic"),
    "truncated model": (["predict", "{truncated}", "{data}", "--out", "{out}"], "truncated"),
    "tampered model": (["predict", "{tampered}", "{data}", "--out", "{out}"], "checksum"),
    "not a model": (["inspect", "{notemkit}"], "not an emkit model"),
    "missing model": (["score", "{tmp}/none.emkit", "{data}"], "no such model file"),
    "trials for gaussian": (["fit", "{data}", "--trials", "3", "--out", "{out}"], "binomial"),
    "too many components": (["fit", "{header_rows}", "-k", "5", "--out", "{out}"], "--components 5 is larger"),
    "no such command": (["frobnicate"], "frobnicate"),
    "missing argument": (["fit"], "DATA"),
    "unknown option": (["fit", "{data}", "--bogus"], "--bogus"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_2_with_one_line(tmp_path, bad_files, case):
    args, needle = BAD_CASES[case]
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n3,4\n5,7\n")
    subs = {k: str(v) for k, v in bad_files.items()} | {"tmp": str(tmp_path), "header_rows": str(small)}
    res = run(*[a.format(**subs) for a in args])
    assert res.exit_code == 2, (case, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in res.stderr + res.stdout
    assert needle in lines[0], lines[0]
    assert bad_files["out"].read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_drop_missing_warns_and_fits(tmp_path, bad_files):
    res = ok(run("fit", bad_files["nan"], "-k", 1, "--drop-missing", "--json"))
    assert "dropped 2" in res.stderr
    assert json.loads(res.stdout)["n_samples"] == 4


def test_wrong_feature_count(tmp_path, faithful_csv):
    model = tmp_path / "one.emkit"
    ok(run("fit", faithful_csv, "--columns", "waiting", "--seed", 0, "--out", model))
    other = write_csv(tmp_path / "x.csv", np.arange(12.0).reshape(4, 3), ["p", "q", "r"])
    res = run("predict", model, other)
    assert res.exit_code == 2 and "--columns" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    # the saved column names pick the right column from a wider file
    labels = ok(run("predict", model, faithful_csv)).stdout.split()
    assert len(labels) == 273 and labels[0] == "label"


# ------------------------------------------------------------------- subprocess
def _emkit_cmd():
    exe = os.path.join(os.path.dirname(sys.executable), "emkit")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "emkit"]


def test_subprocess_round_trip_and_errors(tmp_path, faithful_csv):
    model = tmp_path / "m.emkit"
    env = {**os.environ, "COLUMNS": "120"}
    fit = subprocess.run([*_emkit_cmd(), "fit", str(faithful_csv), "--seed", "0", "--out", str(model)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert fit.returncode == 0, fit.stderr
    assert "\x1b[" not in fit.stdout + fit.stderr  # no colours or progress bar off a terminal
    pred = subprocess.run([sys.executable, "-m", "emkit", "predict", str(model), str(faithful_csv)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert pred.returncode == 0 and len(pred.stdout.split()) == 273
    bad = subprocess.run([*_emkit_cmd(), "fit", str(tmp_path / "missing.csv")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert "no such file" in bad.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_subprocess_sigint_exits_130_and_saves(tmp_path, faithful_csv):
    out = tmp_path / "partial.emkit"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from emkit import cli
        from emkit.cli import progress
        def hook(info):
            if info["iteration"] >= 3:  # SQUAREM reports data passes, in steps of 1 to 4
                os.kill(os.getpid(), signal.SIGINT)
        progress._iteration_hook = hook
        sys.argv = ["emkit", "fit", {str(faithful_csv)!r}, "-k", "3", "--tol", "0",
                    "--max-iter", "1000", "--seed", "0", "--out", {str(out)!r}]
        cli.main()
    """)
    # the child starts with SIGINT at its default even when this run inherited it ignored
    # (a shell's background job does), so Python installs its KeyboardInterrupt handler
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130, proc.stderr
    assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr
    model = load(out)
    assert model.interrupted_ and model.n_iter_ >= 3
