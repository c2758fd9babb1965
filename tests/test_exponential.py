"""The exponential family: one file plus its registry line, and everything else comes free.

References are independent: scipy.stats for densities, an EM written out
plainly here for the iterates, known rates for recovery.
"""

import json

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from typer.testing import CliRunner

import emkit
from emkit import registry
from emkit.cli import app

RATES = np.array([[2.0, 0.5], [0.1, 4.0]])
WEIGHTS = np.array([0.35, 0.65])


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.random(n) < WEIGHTS[1]).astype(int)
    return rng.exponential(1.0 / RATES[z]), z


def _scipy_log_prob(X, rates):
    return stats.expon.logpdf(X[:, None, :], scale=1.0 / rates[None]).sum(axis=2)


def test_registered_with_its_estimator():
    fam = registry.get("exponential")
    cls = registry.estimator_class("exponential")
    assert cls is emkit.ExponentialMixture and cls.__name__ == "ExponentialMixture"
    assert registry.family_of(cls) is fam
    assert sorted(cls().get_params()) == sorted(
        ["n_components", "rates_init", "tol", "max_iter", "n_init", "init_params", "weights_init",
         "random_state", "warm_start", "verbose", "verbose_interval", "fixed", "chunk_size",
         "acceleration", "missing"])


def test_log_densities_match_scipy():
    X, _ = _data(500)
    est = emkit.ExponentialMixture(2, weights_init=WEIGHTS, rates_init=RATES, max_iter=0)
    with pytest.warns(emkit.ConvergenceWarning):
        est.fit(X)  # no EM step: the initial values are kept
    np.testing.assert_allclose(est.component_log_densities(X), _scipy_log_prob(X, RATES), rtol=1e-12)
    ref = logsumexp(_scipy_log_prob(X, RATES) + np.log(WEIGHTS), axis=1)
    np.testing.assert_allclose(est.score_samples(X), ref, rtol=1e-12)


def _reference_em(X, w, rates, n_iter):
    """Plain EM for a mixture of exponentials, written out."""
    for _ in range(n_iter):
        log_r = _scipy_log_prob(X, rates) + np.log(w)
        r = np.exp(log_r - logsumexp(log_r, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        w = nk / nk.sum()
        rates = nk[:, None] / (r.T @ X)
    return w, rates


@pytest.mark.parametrize("chunk_size", [None, 97])
def test_iterates_equal_a_plain_reference_em(chunk_size):
    X, _ = _data(800, seed=1)
    w0, r0 = np.array([0.5, 0.5]), np.array([[1.0, 1.0], [0.3, 2.0]])
    est = emkit.ExponentialMixture(2, weights_init=w0, rates_init=r0, tol=0.0, max_iter=25,
                                   chunk_size=chunk_size, acceleration=None)  # 25 plain EM steps
    with pytest.warns(emkit.ConvergenceWarning):
        est.fit(X)
    w, rates = _reference_em(X, w0, r0, 25)
    np.testing.assert_allclose(est.weights_, w, rtol=1e-10)
    np.testing.assert_allclose(est.rates_, rates, rtol=1e-10)


def test_recovers_known_rates_and_holds_fixed_ones():
    X, z = _data(20000, seed=2)
    est = emkit.ExponentialMixture(2, random_state=0, tol=1e-8, max_iter=1000).fit(X)
    order = np.argsort(est.rates_[:, 0])[::-1]
    np.testing.assert_allclose(est.rates_[order], RATES, rtol=0.08)
    np.testing.assert_allclose(est.weights_[order], WEIGHTS, atol=0.03)
    held = emkit.ExponentialMixture(2, rates_init=RATES, fixed=("rates",), random_state=0).fit(X)
    np.testing.assert_array_equal(held.rates_, RATES)
    fast = emkit.ExponentialMixture(2, random_state=0, tol=1e-8, max_iter=1000,
                                    acceleration="squarem").fit(X)
    assert fast.lower_bound_ >= est.lower_bound_ - 1e-6


def test_bad_values_name_row_and_column():
    X, _ = _data(50)
    X[7, 1] = 0.0
    with pytest.raises(ValueError, match=r"positive values; X\[7, 1\] = 0 \(row 7, column 1\)"):
        emkit.ExponentialMixture(2).fit(X)
    with pytest.raises(ValueError, match="rates_init must be positive"):
        emkit.ExponentialMixture(2, rates_init=np.zeros((2, 2))).fit(_data(50)[0])


def test_model_file_round_trip(tmp_path):
    X, _ = _data(600, seed=3)
    est = emkit.ExponentialMixture(2, random_state=0).fit(X)
    emkit.save(est, tmp_path / "e.emk")
    back = emkit.load(tmp_path / "e.emk")
    assert type(back) is emkit.ExponentialMixture
    np.testing.assert_array_equal(back.rates_, est.rates_)
    np.testing.assert_array_equal(back.score_samples(X), est.score_samples(X))


def test_selection_picks_two_components_with_the_right_bic():
    X, _ = _data(3000, seed=4)
    best, table = emkit.select_model(X, n_components=[1, 2, 3], family="exponential",
                                     random_state=0)
    assert isinstance(best, emkit.ExponentialMixture) and best.n_components == 2
    for row in table:
        if row["error"] is not None:
            continue
        k = row["n_components"]
        p = k * X.shape[1] + k - 1
        assert row["n_parameters"] == p and row["covariance_type"] is None
        if k == best.n_components:
            ll = logsumexp(_scipy_log_prob(X, best.rates_) + np.log(best.weights_), axis=1).sum()
            assert row["value"] == pytest.approx(-2 * ll + p * np.log(len(X)), rel=1e-9)


def test_plot_draws_the_fitted_density(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from emkit import plotting

    X, _ = _data(1000, seed=5)
    est = emkit.ExponentialMixture(2, random_state=0).fit(X[:, :1])
    ax = Figure().add_subplot()
    plotting.plot_density_1d(est, X[:, :1], ax=ax)
    mixture = next(line for line in ax.get_lines() if line.get_label() == "mixture density")
    x, y = mixture.get_data()
    ref = (est.weights_[:, None] * stats.expon.pdf(x[None], scale=1 / est.rates_[:, :1])).sum(axis=0)
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    assert x.max() >= X[:, 0].max()
    path = plotting.plot_auto(emkit.ExponentialMixture(2, random_state=0).fit(X), X,
                              tmp_path / "auto.png", dpi=40)
    assert path.stat().st_size > 0


def test_command_line_fit_predict_sample_inspect(tmp_path):
    X, _ = _data(400, seed=6)
    data = tmp_path / "e.csv"
    np.savetxt(data, X, delimiter=",", header="a,b", comments="", fmt="%.10g")
    model = tmp_path / "e.emkit"
    runner = CliRunner()

    def run(*args):
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 0, (res.stdout, res.stderr)
        return res

    info = json.loads(run("fit", data, "--family", "exponential", "-k", 2, "--seed", 0,
                          "--out", model, "--json").stdout)
    assert info["family"] == "exponential" and np.shape(info["rates"]) == (2, 2)
    est = emkit.load(model)
    labels = [int(v) for v in run("predict", model, data).stdout.split()[1:]]
    assert labels == est.predict(X).tolist()
    rows = run("sample", model, "-n", 50, "--seed", 1).stdout.strip().splitlines()
    drawn = np.array([[float(v) for v in r.split(",")] for r in rows[1:]])
    assert rows[0] == "a,b" and drawn.shape == (50, 2) and np.all(drawn > 0)
    assert "rate a" in run("inspect", model).stdout
    bad = runner.invoke(app, ["fit", str(data), "--family", "exponential", "--trials", "3"])
    assert bad.exit_code == 2 and "--trials" in bad.stderr
