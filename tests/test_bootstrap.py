"""Bootstrap standard errors and the bootstrap LRT against mclust 6.0.0.

Fixtures (tests/fixtures/mclust_bootstrap, made by the R scripts next to
them): MclustBootstrap on Old Faithful, EEE with G = 3, 999 replicates of the
nonparametric, parametric and weighted likelihood bootstrap, as shipped and
with every replicate run to 1e-10, and the kurtosis of every parameter's
replicates; four of the weighted bootstrap's weight vectors with
me.weighted()'s fits; mclustBootstrapLRT for G = 1..3 against G + 1 with 999
replicates, as shipped (tolerance 1e-5) and with every fit run to 1e-10, and
mclustBIC's fits to 1e-10 with their observed statistics.  emkit runs
few replicates here, so standard errors and p-values are compared within
their Monte Carlo error (the error of a standard deviation from B draws is
about sqrt((kurtosis - 1) / (4 B)) relative, 1 / sqrt(2 B) for normal draws;
of a p-value sqrt(p (1 - p) / B)).
"""

import copy
import csv
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest

import emkit
from emkit._bootstrap_lrt import lrt_pair
from emkit._resample import match_components, refit, replicate_data, replicate_seeds
from test_mclust_models import fit_from_labels

FIX = Path(__file__).parent / "fixtures" / "mclust_bootstrap"
HC = Path(__file__).parent / "fixtures" / "mclust_models" / "hc_faithful.csv"


def _faithful():
    return np.loadtxt(FIX / "faithful.csv", delimiter=",", skiprows=1)


def _csv(name):
    with open(FIX / name, newline="") as fh:
        return list(csv.DictReader(fh))


def _r_fit():
    v = {r["name"]: float(r["value"]) for r in _csv("fit.csv")}
    means = np.array([[v[f"mean{k}_{j}"] for j in (1, 2)] for k in (1, 2, 3)])
    return v, means


@pytest.fixture(scope="module")
def eee3():
    X = _faithful()
    # mclust fits without a covariance floor
    gm = emkit.GaussianMixture(3, covariance_type="EEE", reg_covar=0.0, random_state=0).fit(X)
    return gm, X


def test_the_fit_is_mclusts(eee3):
    gm, X = eee3
    v, means = _r_fit()
    assert abs(gm.score(X) * len(X) - v["loglik"]) <= 1e-8 * abs(v["loglik"])
    order = np.argmin(np.linalg.norm(means[:, None] - gm.means_[None], axis=2), axis=1)
    # the log-likelihood is flat near the optimum: parameters agree less closely
    np.testing.assert_allclose(gm.means_[order], means, rtol=1e-4)


@pytest.mark.parametrize(("kind", "rtype", "n_boot"), [
    ("nonparametric", "bs", 60), ("parametric", "pb", 25), ("weighted", "wlbs", 25)])
def test_standard_errors_agree_with_mclust_within_monte_carlo_error(eee3, kind, rtype, n_boot):
    gm, X = eee3
    _, means = _r_fit()
    # R's component k is ours order[k]
    order = np.argmin(np.linalg.norm(means[:, None] - gm.means_[None], axis=2), axis=1)
    assert sorted(order) == [0, 1, 2]
    res = emkit.bootstrap(gm, X, n_boot, kind=kind, random_state=7)
    assert res.n_fitted == n_boot and res.n_failed == 0 and res.failures == ()
    ref = {r["name"]: float(r["se_converged"]) for r in _csv(f"se_{rtype}.csv")}
    ours = {f"pro{k + 1}": res.std_errors["weights"][order[k]] for k in range(3)}
    ours.update({f"mean{k + 1}_{j + 1}": res.std_errors["means"][order[k], j]
                 for k in range(3) for j in range(2)})
    ours.update({f"var{k + 1}_{i + 1}_{j + 1}": res.std_errors["covariances"][order[k], i, j]
                 for k in range(3) for i in range(2) for j in range(2)})
    # relative Monte Carlo error of a standard deviation from emkit's and R's replicates:
    # sqrt((kurtosis - 1) / (4 B)), with the kurtosis of R's 999 replicates (6 to 7 for the
    # small component's mean: 1 / sqrt(2 B), the normal value, would be half of it)
    kurt = {r["name"]: float(r[rtype]) for r in _csv("se_kurtosis.csv")}
    mc = np.array([np.sqrt((kurt[k] - 1) / 4 * (1 / (n_boot - 1) + 1 / 998)) for k in ours])
    logs = np.array([np.log(ours[k] / ref[k]) for k in ours])
    assert np.all(np.abs(logs) < 4.5 * mc), dict(zip(ours, np.round(logs / mc, 2), strict=True))
    # the weights' and means' SEs together: a bias shows in their average
    first = logs[:9]
    assert abs(first.mean()) < 3 * mc[:9].mean(), first
    # intervals bracket the estimates and are ordered
    for k in ("weights", "means", "covariances"):
        assert np.all(res.ci_lower[k] <= res.estimates[k] + 1e-12)
        assert np.all(res.estimates[k] <= res.ci_upper[k] + 1e-12)
        assert res.replicates[k].shape == (n_boot,) + res.estimates[k].shape


def test_nonparametric_replicate_is_the_fit_to_resampled_rows(eee3):
    """Counts as frequency weights fit like the duplicated rows themselves."""
    gm, X = eee3
    rng = np.random.RandomState(3)
    Xb, wb, _ = replicate_data(gm, X, "nonparametric", rng, {})
    assert wb.sum() == len(X) and len(Xb) < len(X)
    idx = np.random.RandomState(3).randint(0, len(X), size=len(X))
    weighted = refit(gm, Xb, wb, {}, 0).model
    copies = refit(gm, X[idx], None, {}, 0).model
    np.testing.assert_allclose(weighted.means_, copies.means_, rtol=1e-7)
    np.testing.assert_allclose(weighted.covariances_, copies.covariances_, rtol=1e-6)


def test_weighted_replicate_keeps_every_row_with_exponential_weights(eee3):
    gm, X = eee3
    Xb, wb, _ = replicate_data(gm, X, "weighted", np.random.RandomState(5), {})
    w = np.random.RandomState(5).exponential(size=len(X))
    assert Xb is X
    np.testing.assert_array_equal(wb, w / w.max())


def test_weighted_replicates_are_mclusts_me_weighted_fits(eee3):
    """The same weight vectors as four of MclustBootstrap's "wlbs" replicates
    (one moving the small component's mean 6.5 units): refitted from the fit,
    emkit reaches me.weighted()'s weighted log-likelihood (mclust stops on an
    absolute change of 1e-10, emkit goes on a little: the likelihood is flat
    where the two overlapping components trade weight, so parameters agree to
    1e-4) with no covariance floor, as mclust."""
    gm, X = eee3
    _, means = _r_fit()
    order = np.argmin(np.linalg.norm(means[:, None] - gm.means_[None], axis=2), axis=1)
    W = np.loadtxt(FIX / "wlbs_weights.csv", delimiter=",", skiprows=1)
    fits = _csv("wlbs_fits.csv")
    tight = copy.deepcopy(gm).set_params(tol=1e-12, max_iter=5000, reg_covar=0.0)
    for j in range(W.shape[1]):
        ref = {r["name"]: float(r[f"w{j + 1}"]) for r in fits}
        m = refit(tight, X, W[:, j], {}, 0).model
        ll = float(W[:, j] @ m.score_samples(X))
        assert abs(ll - ref["loglik"]) <= 1e-10 * abs(ref["loglik"]), (j, ll, ref["loglik"])
        np.testing.assert_allclose(m.weights_[order], [ref[f"pro{k}"] for k in (1, 2, 3)],
                                   rtol=1e-4)
        np.testing.assert_allclose(
            m.means_[order], [[ref[f"mean{k}_{i}"] for i in (1, 2)] for k in (1, 2, 3)],
            rtol=1e-5)
        np.testing.assert_allclose(
            m.covariances_[order],
            [[[ref[f"var{k}_{a}_{b}"] for b in (1, 2)] for a in (1, 2)] for k in (1, 2, 3)],
            rtol=1e-4)


def test_parametric_replicate_comes_from_the_fitted_mixture(eee3):
    gm, X = eee3
    Xb, wb, _ = replicate_data(gm, X, "parametric", np.random.RandomState(0), {})
    assert wb is None and Xb.shape == X.shape
    big = np.concatenate([replicate_data(gm, X, "parametric", np.random.RandomState(s), {})[0]
                          for s in range(40)])
    mean = gm.weights_ @ gm.means_
    np.testing.assert_allclose(big.mean(axis=0), mean, rtol=0.01)


def test_components_are_matched_to_the_original_fit(eee3):
    gm, X = eee3
    perm = np.array([2, 0, 1])
    swapped = emkit.GaussianMixture(3, covariance_type="EEE", reg_covar=0.0, random_state=0).fit(X)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        setattr(swapped, attr, getattr(swapped, attr)[perm])
    a = emkit.bootstrap(gm, X, 5, random_state=1)
    b = emkit.bootstrap(swapped, X, 5, random_state=1)
    np.testing.assert_allclose(b.estimates["means"], a.estimates["means"][perm])
    np.testing.assert_allclose(b.std_errors["means"], a.std_errors["means"][perm], rtol=1e-6)
    resp = gm.predict_proba(X)
    np.testing.assert_array_equal(match_components(resp, resp[:, perm]), np.argsort(perm))


def test_same_seed_same_result_whatever_n_jobs(eee3):
    gm, X = eee3
    a = emkit.bootstrap(gm, X, 4, kind="parametric", random_state=11)
    with joblib.parallel_config(backend="threading"):  # no process start-up in the suite
        b = emkit.bootstrap(gm, X, 4, kind="parametric", random_state=11, n_jobs=2)
    np.testing.assert_array_equal(a.replicates["means"], b.replicates["means"])
    c = emkit.bootstrap(gm, X, 4, kind="parametric", random_state=12)
    assert not np.array_equal(a.replicates["means"], c.replicates["means"])
    assert list(replicate_seeds(11, 4)) == list(replicate_seeds(11, 4))


def test_failed_replicates_are_counted_and_reported():
    """A three-point component with no covariance floor: resamples with fewer
    than three distinct points of it are singular and fail."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (60, 2)), [[30.0, 30.0], [31.0, 30.5], [30.2, 31.4]]]
    gm = emkit.GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)
    with pytest.warns(emkit.BootstrapFailureWarning, match=r"of 30 replicates failed"):
        res = emkit.bootstrap(gm, X, 30, random_state=0)
    assert res.n_failed > 0
    assert res.n_failed + res.n_fitted == 30
    assert len(res.failures) == res.n_failed
    assert all(f.startswith("replicate ") for f in res.failures)
    assert res.replicates["means"].shape[0] == res.n_fitted
    assert res.to_dict()["n_failed"] == res.n_failed


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kind": "jackknife"}, "kind"),
    ({"n_boot": 0}, "n_boot"),
    ({"level": 1.5}, "level"),
])
def test_bad_arguments_say_what_is_wrong(eee3, kwargs, match):
    gm, X = eee3
    kw = {"n_boot": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        emkit.bootstrap(gm, X, **kw)


def test_bad_model_or_data(eee3):
    gm, X = eee3
    with pytest.raises(emkit.exceptions.NotFittedError):
        emkit.bootstrap(emkit.GaussianMixture(2), X, 2)
    with pytest.raises(ValueError, match="features"):
        emkit.bootstrap(gm, X[:, :1], 2)
    with pytest.raises(TypeError, match="fitted emkit mixture"):
        emkit.bootstrap(object(), X, 2)


# --------------------------------------------------------------- the LRT
def _hc_fits():
    """EEE fits for G = 1..4 from mclustBIC's own hierarchical partitions."""
    X = np.loadtxt(FIX.parent / "mclust_models" / "table_data_faithful.csv", delimiter=",",
                   skiprows=1)
    hc = np.loadtxt(HC, delimiter=",", skiprows=1).astype(int) - 1
    fits = []
    for G in range(1, 5):
        gm = fit_from_labels(X, hc[:, G - 1], "EEE", tol=1e-13, max_iter=20000)
        fits.append(gm.set_params(tol=1e-9, max_iter=1000, acceleration="squarem"))
    return X, fits


def test_lrt_statistic_and_p_values_agree_with_mclust():
    X, fits = _hc_fits()
    np.testing.assert_array_equal(X, _faithful())
    tight = _csv("lrt_obs_tight.csv")
    shipped = _csv("lrt_shipped.csv")
    n_boot = 9
    seeds = replicate_seeds(0, 3 * n_boot).reshape(3, n_boot)
    for K in (1, 2, 3):
        row = tight[K - 1]
        lls = [f.score(X) * len(X) for f in fits[K - 1:K + 1]]
        np.testing.assert_allclose(lls, [float(row["loglik_G"]), float(row["loglik_G1"])],
                                   rtol=1e-8)
        obs, boot, bad = lrt_pair(fits[K - 1], fits[K], X, seeds[K - 1], None, {})
        assert abs(obs - float(row["obs"])) <= 1e-6 * abs(float(row["obs"])), (K, obs, row)
        assert bad == [] and boot.shape == (n_boot,)
        p = (1 + np.count_nonzero(boot >= obs)) / (n_boot + 1)
        if K < 3:
            # mclust's shipped run (fits to 1e-5) has the same statistic to 1e-3 here;
            # at K = 3 its G = 4 fit stopped 5.5 log-likelihood units short
            assert abs(float(shipped[K - 1]["obs"]) - obs) < 1e-3 * obs
        # mclustBootstrapLRT with every fit to 1e-10: the same statistic, its p-value
        full = _csv("lrt_tight.csv")[K - 1]
        assert abs(float(full["obs"]) - obs) <= 1e-6 * obs
        p_ref = float(full["p_value"])
        assert abs(p - p_ref) <= 4 * np.sqrt(p_ref * (1 - p_ref) / n_boot) + 1 / (n_boot + 1)
        # the statistic is far in the tail of its null distribution for every K here
        assert p == 1 / (n_boot + 1), (K, obs, boot)


def test_sequential_lrt_stops_at_the_first_k_it_does_not_reject():
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, 60), rng.normal(6, 1, 60)][:, None]
    template = emkit.GaussianMixture(covariance_type="V", tol=1e-7, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", emkit.BootstrapFailureWarning)
        res = emkit.bootstrap_lrt(X, template, n_boot=29, random_state=0)
    # a K + 1 refit of data drawn from K components can collapse a component onto a
    # few points (a spurious maximum): such replicates are counted, not hidden
    assert len(caught) == (1 if res.failures else 0)
    assert sum(res.n_failed) == len(res.failures) <= 3
    assert list(res.n_components) == [1, 2]
    assert res.p_value[0] == pytest.approx(1 / (30 - res.n_failed[0]))
    assert res.p_value[1] > 0.05 and res.selected == 2
    for obs, boot, p in zip(res.statistic, res.boot_statistics, res.p_value, strict=True):
        assert p == (1 + np.count_nonzero(boot >= obs)) / (boot.size + 1)
    np.testing.assert_allclose(res.statistic, 2 * np.diff(res.log_likelihood))
    assert res.to_dict()["selected"] == 2


def test_lrt_bad_input():
    X = _faithful()
    with pytest.raises(TypeError, match="estimator"):
        emkit.bootstrap_lrt(X, "EEE")
    with pytest.raises(ValueError, match="max_components"):
        emkit.bootstrap_lrt(X, emkit.GaussianMixture(), max_components=0)
    with pytest.raises(ValueError, match="max_components"):
        emkit.bootstrap_lrt(X[:3], emkit.GaussianMixture(), max_components=3)
    with pytest.raises(ValueError, match="level"):
        emkit.bootstrap_lrt(X, emkit.GaussianMixture(), level=0)
